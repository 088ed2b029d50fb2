import { isGrpcServiceError, type Client } from '@temporalio/client';
import { temporalUnavailable } from '../errors.js';

export interface TemporalAccess {
  /** The Temporal client, connected on first use. */
  temporal: () => Promise<Client>;
  /**
   * Deadline of a request's calls to Temporal (default 4.5 s): past it the caller is refused (`temporal_unavailable`), not kept waiting. A route
   * that needs Temporal answers within 5 s: the rest is its own work (a registry write, the answer).
   */
  temporalDeadlineMs?: number;
  log?: { warn(obj: unknown, msg?: string): void };
}

const DEFAULT_TEMPORAL_DEADLINE_MS = 4500;
/** gRPC status codes (grpc.status) that mean the server did not answer in time. */
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

/** Temporal cannot be reached (down, restarting, or slower than the deadline). */
function isUnreachable(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (isGrpcServiceError(e) && (e.code === GRPC_UNAVAILABLE || e.code === GRPC_DEADLINE_EXCEEDED)) return true;
  }
  return false;
}

/** The deadline (epoch ms) of work that starts now and must not keep its caller past `temporalDeadlineMs`. */
export const temporalDeadline = (access: TemporalAccess) => Date.now() + (access.temporalDeadlineMs ?? DEFAULT_TEMPORAL_DEADLINE_MS);

/**
 * One call to Temporal, bounded by `deadline` (default: `temporalDeadlineMs` from now), connection included; calls
 * of one request share one deadline. An unreachable server becomes a prompt `temporal_unavailable` refusal
 * (the API's 503 with Retry-After), whose message holds no internal address.
 */
export async function callTemporal<T>(
  access: TemporalAccess,
  fn: (client: Client) => Promise<T>,
  deadline = temporalDeadline(access),
): Promise<T> {
  const unavailable = (err: unknown) => {
    access.log?.warn({ err: (err as Error)?.message }, 'Temporal unreachable');
    return temporalUnavailable();
  };
  let client: Client;
  try {
    client = await beforeDeadline(access.temporal(), deadline);
  } catch (err) {
    throw unavailable(err);
  }
  try {
    return await client.withDeadline(deadline, () => fn(client));
  } catch (err) {
    if (isUnreachable(err)) throw unavailable(err);
    throw err;
  }
}

async function beforeDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no connection to Temporal before the deadline')), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
