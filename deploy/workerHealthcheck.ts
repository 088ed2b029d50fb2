/**
 * The worker container's health check (docker-compose.yml): exits 0 while this container's
 * worker polls both task queues, 1 otherwise. A worker's Temporal identity names its host
 * (default `<pid>@<hostname>`) and each container has its own hostname, so the pollers of other
 * replicas do not make a stuck one look healthy.
 */
import os from 'node:os';
import { Connection } from '@temporalio/client';
import { loadConfig } from '../core/config.js';
import { POLLED_QUEUE_COUNT, queuesWithoutPoller } from '../control/temporal/taskQueuePollers.js';

const config = loadConfig();
const hostname = os.hostname();

const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '5s' });
let missing: string[];
try {
  missing = await queuesWithoutPoller(connection.workflowService, config.temporal.namespace, { identityIncludes: hostname });
} finally {
  await connection.close();
}
if (missing.length > 0) {
  console.error(`no poller whose identity names host ${hostname} for: ${missing.join(', ')}`);
  process.exit(1);
}
console.log(`polling ${POLLED_QUEUE_COUNT} task queue types from host ${hostname}`);
