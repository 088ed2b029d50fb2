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
  return new Client({ connection, namespace: config.temporal.namespace });
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
