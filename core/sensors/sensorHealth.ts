/**
 * Sensor health: is a rover's laser still the ground truth? Per rover of one deployment, from the frames of a
 * recent window: readings outside the sensor's physical range or its error codes, stuck values, dropouts,
 * spikes, and a laser that disagrees with its deployment's other rovers on similar frames while theirs agree
 * with the model. A suspect rover's frames are kept but left out of training sets, drift and rollout evidence.
 *
 * INTERFACE ONLY (issue 23 plan): the lead fixed these types so that the monitor's plumbing and the detectors
 * are built at the same time; the detectors replace `assessSensorHealth`'s body.
 */
import type { ImageCharacteristicField } from '../features/fields.js';

/** What is wrong with a rover's laser. */
export type SensorFaultKind = 'invalid-readings' | 'stuck' | 'dropouts' | 'spikes' | 'disagrees-with-peers';

export const SENSOR_FAULT_KINDS: readonly SensorFaultKind[] = ['invalid-readings', 'stuck', 'dropouts', 'spikes', 'disagrees-with-peers'];

/** One frame as the health check reads it. */
export interface SensorFrame {
  /** Epoch ms. */
  time: number;
  client: string;
  modelVersion: number | null;
  /** The laser reading as the rover sent it (null: none sent), invalid readings included. */
  sensorValue: number | null;
  /** The answering version's prediction (mm). */
  prediction: number | null;
  /** A few image characteristics: frames of different rovers are compared on similar floors only. */
  features: Partial<Record<ImageCharacteristicField, number>>;
}

/** A deployment's recent frames, oldest first. */
export interface SensorWindow {
  deployment: string;
  frames: SensorFrame[];
}

export type RoverHealthStatus = 'healthy' | 'suspect' | 'insufficient-data';

/** One rover's laser, judged. */
export interface RoverSensorHealth {
  client: string;
  /** Frames of the rover in the window, and those with a reading. */
  frames: number;
  withReading: number;
  status: RoverHealthStatus;
  /** Empty unless suspect. */
  kinds: SensorFaultKind[];
  /** Epoch ms of the first frame of the evidence (the fault's estimated onset), null unless suspect. */
  since: number | null;
  /** The numbers each detector looked at (shares, runs, mm, p-values): what the API, the console and Grafana show. */
  evidence: Record<string, number | string | null>;
  /** One line a person reads. */
  summary: string;
}

export interface SensorHealthOptions {
  /** The serving version's mean test error (mm): peers "agree with the model" near it. */
  referenceErrorMm: number | null;
}

/** Judges every rover of the window (config: the monitor config's `sensors` group). */
export function assessSensorHealth(_window: SensorWindow, _config: unknown, _options: SensorHealthOptions): RoverSensorHealth[] {
  throw new Error('assessSensorHealth: not built yet (issue 23)');
}
