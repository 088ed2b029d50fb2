/**
 * What a parking run is for: stopping in the stop zone. A run ends parked (0 < final distance <= 20 mm), hit (it
 * touched the wall) or early (it stopped further out, or never stopped).
 */
export const STOP_ZONE_MM = 20;

export const PARKING_OUTCOMES = ['parked', 'hit', 'early'] as const;
export type ParkingOutcome = (typeof PARKING_OUTCOMES)[number];

/** What steered the rover: its model with the laser as back-up, or the laser alone (the baseline). */
export const STEERING_MODES = ['model', 'laser'] as const;
export type SteeringMode = (typeof STEERING_MODES)[number];

/** The outcome of a run that ended `finalMm` from the wall (0: touching it). */
export function parkingOutcome(finalMm: number): ParkingOutcome {
  if (finalMm <= 0) return 'hit';
  return finalMm <= STOP_ZONE_MM ? 'parked' : 'early';
}
