import type { AsyncLocalStorage } from 'node:async_hooks';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { Config } from '../../core/config.js';

/**
 * gRPC settings of the API's connection, so a call ends by its deadline and Temporal is used again soon after it is
 * back: by default gRPC waits up to 2 minutes between reconnection attempts (doubling while the server is down), and
 * the client's retries sleep past a call's deadline.
 */
const RECONNECT_BACKOFF = { 'grpc.initial_reconnect_backoff_ms': 500, 'grpc.max_reconnect_backoff_ms': 2000 };

/** A Temporal client on the configured server and namespace (API, CLI scripts). */
export async function connectClient(config: Pick<Config, 'temporal'>, connectTimeout?: string): Promise<Client> {
  const connection = await Connection.connect({
    address: config.temporal.address,
    connectTimeout,
    channelArgs: RECONNECT_BACKOFF,
    interceptors: [retriesWithinDeadline()],
  });
  callContextOnlyInCalls(connection);
  return new Client({ connection, namespace: config.temporal.namespace });
}

/**
 * The connection keeps a call's deadline (and metadata, abort signal) in an AsyncLocalStorage, which the client runs
 * and never disables. On Node 20 a storage that ran once keeps a hook on every promise of the process, so the API's
 * /predict path paid for it on every await without a Temporal call in sight (7 % of the main thread's allocations at
 * 128 frames/s; docs/ARCHITECTURE.md). This disables the storage again whenever none of its calls is in flight; the
 * next call enables it.
 */
export function callContextOnlyInCalls(connection: Connection): void {
  // Declared protected in the client's types; the field exists at run time (@temporalio/client 1.x).
  const storage = (connection as unknown as { callContextStorage?: AsyncLocalStorage<unknown> }).callContextStorage;
  if (!storage) return;
  let inFlight = 0;
  const scoped =
    <A>(method: (arg: A, fn: () => Promise<unknown>) => Promise<unknown>) =>
    async (arg: A, fn: () => Promise<unknown>) => {
      inFlight++;
      try {
        return await method.call(connection, arg, fn);
      } finally {
        if (--inFlight === 0) storage.disable();
      }
    };
  const patched = connection as unknown as Record<'withDeadline' | 'withMetadata' | 'withAbortSignal', unknown>;
  patched.withDeadline = scoped(connection.withDeadline);
  patched.withMetadata = scoped(connection.withMetadata);
  patched.withAbortSignal = scoped(connection.withAbortSignal);
  storage.disable();
}

/** The client's usual retries of failed calls, each retry before the call's deadline (none after it). */
function retriesWithinDeadline(): ReturnType<typeof makeGrpcRetryInterceptor> {
  const usual = defaultGrpcRetryOptions();
  return (options, nextCall) => {
    const deadline = typeof options.deadline === 'number' ? options.deadline : (options.deadline?.getTime?.() ?? Infinity);
    return makeGrpcRetryInterceptor({
      delayFunction: (attempt, status) => Math.min(usual.delayFunction(attempt, status), Math.max(0, deadline - Date.now())),
      retryableDecider: (attempt, status) => usual.retryableDecider(attempt, status) && Date.now() < deadline,
    })(options, nextCall);
  };
}

/**
 * The API's Temporal client: connected on first use, so the API starts (and serves rovers) while
 * Temporal is down; a failed connection is tried again on the next call.
 */
export function lazyTemporalClient(config: Pick<Config, 'temporal'>, connectTimeout = '3s') {
  let client: Promise<Client> | undefined;
  const temporal = () => {
    client ??= connectClient(config, connectTimeout).catch((err) => {
      client = undefined;
      throw err;
    });
    return client;
  };
  const close = async () => (await client?.catch(() => undefined))?.connection.close();
  return { temporal, close };
}
