/**
 * Every time in a response is an ISO 8601 string in UTC (`2026-01-02T03:04:05.678Z`). The registry keeps them so;
 * the measurement store and the workflows keep epoch milliseconds (drift checks, windows, rollout stages, asks):
 * these fields are turned into strings as a response is written (Express's `json replacer`).
 */
import { TIME_FIELDS } from '../contracts/http/wireTimes.js';

export type { Wire } from '../contracts/http/wireTimes.js';

const TIME_FIELD_SET = new Set<string>(TIME_FIELDS);

export function isoTimes(key: string, value: unknown): unknown {
  return typeof value === 'number' && TIME_FIELD_SET.has(key) && Number.isFinite(value) ? new Date(value).toISOString() : value;
}
