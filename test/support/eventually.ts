import { vi } from 'vitest';

export interface EventuallyOptions {
  /** Give up after this long and fail with the last error (default 30 s: a busy machine, not a quiet one). */
  timeoutMs?: number;
  /** Pause between tries (default 200 ms). */
  intervalMs?: number;
}

/**
 * Runs `check` until it stops throwing, then returns its value; after `timeoutMs` fails with the
 * last error. For reads of eventually consistent state (Temporal's visibility lists, a store a
 * background queue writes to), never a single read or a fixed sleep.
 */
export function eventually<T>(check: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  return vi.waitFor(check, { timeout: options.timeoutMs ?? 30_000, interval: options.intervalMs ?? 200 });
}
