import { isGrpcServiceError, type Client } from '@temporalio/client';
import { ApiError } from './errors.js';

export interface TemporalAccess {
  /** The Temporal client, connected on first use. */
  temporal: () => Promise<Client>;
  /** Deadline of one call to Temporal (default 5 s): past it the caller gets a 503, not a hang. */
  temporalDeadlineMs?: number;
  log?: { warn(obj: unknown, msg?: string): void };
}

const RETRY_AFTER_SECONDS = 5;
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

/**
 * One call to Temporal with a deadline. An unreachable server becomes a prompt 503
 * `temporal_unavailable` with Retry-After, whose message holds no internal address.
 */
export async function callTemporal<T>(access: TemporalAccess, fn: (client: Client) => Promise<T>): Promise<T> {
  const unavailable = (err: unknown) => {
    access.log?.warn({ err: (err as Error)?.message }, 'Temporal unreachable');
    return new ApiError(503, 'temporal_unavailable', 'Temporal cannot be reached right now', RETRY_AFTER_SECONDS);
  };
  let client: Client;
  try {
    client = await access.temporal();
  } catch (err) {
    throw unavailable(err);
  }
  try {
    return await client.withDeadline(Date.now() + (access.temporalDeadlineMs ?? 5000), () => fn(client));
  } catch (err) {
    if (isUnreachable(err)) throw unavailable(err);
    throw err;
  }
}
