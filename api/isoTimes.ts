/**
 * Every time in a response is an ISO 8601 string in UTC (`2026-01-02T03:04:05.678Z`). The registry keeps them so;
 * the measurement store and the workflows keep epoch milliseconds (drift checks, windows, rollout stages, asks):
 * these fields are turned into strings as a response is written (Express's `json replacer`).
 */
export const TIME_FIELDS = [
  'time',
  'at',
  'windowStart',
  'windowEnd',
  'startedAt',
  'stageStartedAt',
  'checkedAt',
  'observedAt',
  'createdAt',
  'startsAt',
  'startTime',
  'closeTime',
] as const;
export type TimeField = (typeof TIME_FIELDS)[number];

const TIME_FIELD_SET = new Set<string>(TIME_FIELDS);

/** A type as a response carries it: its time fields are strings. */
export type Wire<T> = T extends readonly (infer U)[]
  ? Wire<U>[]
  : T extends object
    ? {
        [K in keyof T]: K extends TimeField
          ? T[K] extends number
            ? string
            : T[K] extends number | null
              ? string | null
              : Wire<T[K]>
          : Wire<T[K]>;
      }
    : T;

export function isoTimes(key: string, value: unknown): unknown {
  return typeof value === 'number' && TIME_FIELD_SET.has(key) && Number.isFinite(value) ? new Date(value).toISOString() : value;
}
