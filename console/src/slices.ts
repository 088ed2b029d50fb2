import type { Metrics } from './wire.js';

/** The distance bands a version's test metrics are sliced by (core/training/distanceBands.ts), the stop band last. */
export const BAND_SLICES = [
  { key: '0_20', label: '<= 20 mm' },
  { key: '20_100', label: '20-100 mm' },
  { key: '100_350', label: '100-350 mm' },
  { key: 'over_350', label: '> 350 mm' },
  { key: 'stop', label: '<= 100 mm' },
] as const;

export interface SliceRow {
  key: string;
  slice: string;
  frames: number;
  /** Mean absolute error on the slice's test frames (null: none). */
  mae: number | null;
  /** The version it replaced, on the same test frames (null: not measured). */
  previous: number | null;
}

/** A version's test error by distance band and by deployment (`test_frames_<slice>`, `test_mae_mm_<slice>`), beside the version it replaced. */
export function sliceRows(metrics: Metrics, previous: Metrics = {}): { bands: SliceRow[]; deployments: SliceRow[] } {
  const row = (key: string, slice: string): SliceRow => ({
    key,
    slice,
    frames: metrics[`test_frames_${key}`],
    mae: metrics[`test_mae_mm_${key}`] ?? null,
    previous: previous[`test_mae_mm_${key}`] ?? null,
  });
  const bands = BAND_SLICES.filter((b) => metrics[`test_frames_${b.key}`] !== undefined).map((b) =>
    row(b.key, b.key === 'stop' ? `stop band (${b.label})` : b.label),
  );
  const deployments = Object.keys(metrics)
    .filter((k) => k.startsWith('test_frames_at_'))
    .map((k) => k.slice('test_frames_at_'.length))
    .sort()
    .map((d) => row(`at_${d}`, d));
  return { bands, deployments };
}
