/**
 * Simulated rovers on the edge's RoverClient, replaying recorded frames (with their laser
 * readings) in a closed loop: each rover sends its next frame as soon as the previous one
 * is answered, so N rovers keep N requests in flight.
 */
import type { EdgeFrame } from '../edge/parkingRun.js';
import { RoverClient } from '../edge/roverClient.js';

export interface RoverIdentity {
  clientId: string;
  token: string;
}

export interface ReplayOutcome {
  sent: number;
  answered: number;
  /** Latency of every answered request, ms, in completion order. */
  latenciesMs: number[];
  errors: Record<string, number>;
  /** Answers per model version that gave them. */
  answeredBy: Record<number, number>;
  wallSeconds: number;
}

export async function replayFrames(options: {
  apiUrl: string;
  rovers: RoverIdentity[];
  frames: EdgeFrame[];
  requests: number;
}): Promise<ReplayOutcome> {
  const clients = options.rovers.map(
    (r) => new RoverClient({ apiUrl: options.apiUrl, clientId: r.clientId, token: r.token, retries: 0, timeoutMs: 60_000 }),
  );
  const latenciesMs: number[] = [];
  const errors: Record<string, number> = {};
  const answeredBy: Record<number, number> = {};
  let next = 0;
  let answered = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (next < options.requests) {
        const frame = options.frames[next++ % options.frames.length];
        const sentAt = performance.now();
        const result = await client.predict({ jpeg: frame.jpeg, sensorMm: frame.sensorMm });
        if (result.ok) {
          latenciesMs.push(performance.now() - sentAt);
          answered++;
          answeredBy[result.model.version] = (answeredBy[result.model.version] ?? 0) + 1;
        } else {
          errors[result.code] = (errors[result.code] ?? 0) + 1;
        }
      }
    }),
  );
  return { sent: options.requests, answered, latenciesMs, errors, answeredBy, wallSeconds: (performance.now() - started) / 1000 };
}

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
