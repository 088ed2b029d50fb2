/**
 * The rovers' time-of-flight laser as a spec (ST VL53L0X, as edge/laser.ts simulates it): what a valid reading is.
 * The sensor ranges up to 2 m (long-range mode) and reports integer millimetres; its common drivers report
 * "nothing in range" as 8190 or 8191 and a timeout as 65535 instead of a distance. Ingest marks such readings
 * (stored as sent, never an error of the model) and the sensor health check counts them.
 */

/** The smallest and largest distances the sensor reports (mm). */
export const LASER_MIN_MM = 0;
export const LASER_MAX_MM = 2000;

/** Values the sensor's drivers report in place of a distance: 8190/8191 nothing in range, 65535 a timeout. */
export const LASER_ERROR_CODES: readonly number[] = [8190, 8191, 65535];

export type ReadingStatus = 'ok' | 'missing' | 'out-of-range' | 'error-code';

/** What a reading is: a distance the sensor can measure, none, an error code, or a value it cannot report. */
export function readingStatus(value: number | null | undefined): ReadingStatus {
  if (value === null || value === undefined) return 'missing';
  if (LASER_ERROR_CODES.includes(value)) return 'error-code';
  if (!Number.isFinite(value) || value < LASER_MIN_MM || value > LASER_MAX_MM) return 'out-of-range';
  return 'ok';
}

/** A reading that is neither missing nor a distance (an error code or out of range). */
export const isInvalidReading = (value: number | null | undefined): boolean => {
  const status = readingStatus(value);
  return status === 'error-code' || status === 'out-of-range';
};
