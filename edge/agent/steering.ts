/**
 * The agent's safety rules, as one pure decision per frame:
 * - stop when the laser or a fresh prediction says the wall is within the stop zone (<= 20 mm); when both do, the
 *   stop is the model's;
 * - mode `model` steers by a fresh prediction, moved forward by the travel commanded since its frame was taken;
 *   without one (a slow or unreachable API), by the laser;
 * - mode `laser` (the baseline) steers by the laser alone: predictions are neither used nor able to stop it;
 * - no laser reading and no fresh prediction: stop (`blind`): the rover never drives without knowing the distance.
 */
import { STOP_ZONE_MM, type SteeringMode } from '../../core/parking/parkingOutcome.js';
import { speedTier, type SpeedTier } from '../speedTiers.js';
import type { RangeReading } from '../hardware/devices.js';

/** How old a prediction's frame may be for the rover to steer by it (default). */
export const DEFAULT_FRESH_MS = 500;

export interface Prediction {
  mm: number;
  /** When the frame it answers was taken (epoch ms). */
  frameCapturedAt: number;
  /** Travel commanded since that frame was taken, mm. */
  travelSinceMm: number;
}

export interface SteeringInput {
  mode: SteeringMode;
  now: number;
  laser: RangeReading;
  /** The newest prediction, fresh or not; null: none yet this run. */
  prediction: Prediction | null;
  freshMs: number;
}

export interface SteeringDecision {
  tier: SpeedTier;
  /** What the decision was based on (counts of a run's ParkingRunReport `steered`). */
  by: 'model' | 'laser' | 'stopped';
  /** Set when the rover must stop: in the stop zone by the laser or the model, or blind. */
  stop?: 'laser' | 'model' | 'blind';
  /** The distance the tier was chosen for, mm; null when blind. */
  distanceMm: number | null;
}

/** The prediction's distance now, when it is fresh; null otherwise. */
export function freshPredictionMm(prediction: Prediction | null, now: number, freshMs: number): number | null {
  if (!prediction || now - prediction.frameCapturedAt > freshMs) return null;
  return prediction.mm - prediction.travelSinceMm;
}

export function steer(input: SteeringInput): SteeringDecision {
  const laserMm = input.laser.ok ? input.laser.mm : null;
  const modelMm = input.mode === 'model' ? freshPredictionMm(input.prediction, input.now, input.freshMs) : null;
  // The model first: a stop both call is the camera's, so `stop: 'laser'` in model mode means the laser saved a run the
  // camera would have driven on (what the model's parking success is judged by).
  if (modelMm !== null && modelMm <= STOP_ZONE_MM) return { tier: 'stop', by: 'model', stop: 'model', distanceMm: modelMm };
  if (laserMm !== null && laserMm <= STOP_ZONE_MM) return { tier: 'stop', by: 'laser', stop: 'laser', distanceMm: laserMm };
  if (modelMm !== null) return { tier: speedTier(modelMm), by: 'model', distanceMm: modelMm };
  if (laserMm !== null) return { tier: speedTier(laserMm), by: 'laser', distanceMm: laserMm };
  return { tier: 'stop', by: 'stopped', stop: 'blind', distanceMm: null };
}
