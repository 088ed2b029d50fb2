import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../core/config.js';

export const defaultTemporalAddress = 'localhost:7233';

export function connectWorker(config: Config): Promise<NativeConnection> {
  return NativeConnection.connect({ address: config.temporal.address ?? defaultTemporalAddress });
}
