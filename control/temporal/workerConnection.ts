import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../../core/config.js';

export function connectWorker(config: Config): Promise<NativeConnection> {
  return NativeConnection.connect({ address: config.temporal.address });
}
