import type { ImageCharacteristicField } from '../features/fields.js';

/** The frames of one deployment's window, by column: what a check compares with the reference. */
export interface DriftWindow {
  frames: number;
  windowStart: number | null;
  windowEnd: number | null;
  /** Per characteristic, the values of the frames that have it. */
  features: Partial<Record<ImageCharacteristicField, Float64Array>>;
  /** Laser readings of the labelled frames (mm, unclipped). */
  labels: Float64Array;
  /** |prediction - laser| of the frames that have both (mm). */
  errors: Float64Array;
}
