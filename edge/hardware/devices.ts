/**
 * The rover's three devices, each behind a small interface with a real implementation for the Raspberry Pi and a
 * simulated one: the agent (edge/agent/) only ever sees these.
 */
import type { SpeedTier } from '../speedTiers.js';

export interface CameraFrame {
  jpeg: Buffer;
  /** Epoch ms when the frame was taken (for a real camera: when its last byte arrived). */
  capturedAt: number;
  /** Increases by one per frame the camera delivered since start (a restarted camera process keeps counting). */
  seq: number;
}

export interface Camera {
  start(): Promise<void>;
  /** The first frame newer than the last one returned; rejects with CameraTimeoutError if none arrives within `timeoutMs`. */
  nextFrame(timeoutMs: number): Promise<CameraFrame>;
  stop(): Promise<void>;
}

export class CameraTimeoutError extends Error {
  readonly code = 'camera_timeout';
}

/**
 * Why a range sensor gave no distance. `raw` is the value the sensor sent (VL53L0X: 8190/8191 out of range, 65535
 * timeout), for logs and the health file; the agent sends no reading as no `sensor_value` at all.
 */
export type NoReadingReason = 'out-of-range' | 'error-code' | 'timeout' | 'unplugged';

export type RangeReading = { ok: true; mm: number } | { ok: false; reason: NoReadingReason; raw?: number; detail?: string };

export interface RangeSensor {
  /** Identifies and initialises the sensor; throws when it is not there or not what it should be. */
  init(): Promise<void>;
  /** One distance, or why there is none; never throws (an unplugged sensor is a reading of its own). */
  read(): Promise<RangeReading>;
  close(): Promise<void>;
}

export interface Drive {
  /** Reverses at the tier's speed ('stop' stops). */
  set(tier: SpeedTier): Promise<void>;
  /** Stops at once; safe to call any number of times, also from exit handlers (synchronous on the real drive). */
  stopNow(): void;
  close(): Promise<void>;
}
