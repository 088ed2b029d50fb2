/**
 * Every time in a response is an ISO 8601 string in UTC (`2026-01-02T03:04:05.678Z`). The registry keeps them so;
 * the measurement store and the workflows keep epoch milliseconds (drift checks, windows, rollout stages, asks):
 * the API writes these fields as strings (api/isoTimes.ts).
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
  'lastFrameAt',
  'since',
] as const;
export type TimeField = (typeof TIME_FIELDS)[number];

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
