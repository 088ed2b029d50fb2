/** The thesis's reversing speed tiers: what a distance to the wall lets the rover do. */
export const FRAME_INTERVAL_MS = 250;

export type SpeedTier = 'fast' | 'slow' | 'slower' | 'stop';

/** Reversing speed per tier, mm/s (slow 15 mm and slower 6 mm per frame: ~25 frames from 250 mm). */
export const TIER_SPEED_MM_PER_S: Record<SpeedTier, number> = { fast: 160, slow: 60, slower: 24, stop: 0 };

/** Thesis tiers: >350 mm fast, <=350 slow, <=100 slower, <=20 stop. */
export function speedTier(distanceMm: number): SpeedTier {
  if (distanceMm <= 20) return 'stop';
  if (distanceMm <= 100) return 'slower';
  if (distanceMm <= 350) return 'slow';
  return 'fast';
}
