import { Client, Connection } from '@temporalio/client';
import type { Config } from './config.js';

/** A Temporal client on the configured server and namespace (API, CLI scripts). */
export async function connectClient(config: Pick<Config, 'temporal'>, connectTimeout?: string): Promise<Client> {
  const connection = await Connection.connect({ address: config.temporal.address, connectTimeout });
  return new Client({ connection, namespace: config.temporal.namespace });
}
