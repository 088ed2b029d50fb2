import { Client, Connection } from '@temporalio/client';
import type { Config } from './config.js';

/** A Temporal client on the configured server and namespace (API, CLI scripts). */
export async function connectClient(config: Pick<Config, 'temporal'>, connectTimeout?: string): Promise<Client> {
  const connection = await Connection.connect({ address: config.temporal.address, connectTimeout });
  return new Client({ connection, namespace: config.temporal.namespace });
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
