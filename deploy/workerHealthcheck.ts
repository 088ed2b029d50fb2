/**
 * The worker container's health check (docker-compose.yml): exits 0 while this container's
 * worker polls both task queues, 1 otherwise. A worker's Temporal identity names its host
 * (default `<pid>@<hostname>`) and each container has its own hostname, so the pollers of other
 * replicas do not make a stuck one look healthy.
 */
import os from 'node:os';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { loadConfig } from '../core/config.js';
import { TASK_QUEUES } from '../workflows/trainAndRegister/contract.js';

const { TaskQueueType } = proto.temporal.api.enums.v1;
/** A polling worker renews its long poll at least once a minute. */
const MAX_POLL_AGE_MS = 2 * 60_000;

const config = loadConfig();
const hostname = os.hostname();
const expected = [
  { queue: TASK_QUEUES.orchestration, type: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, what: 'workflow' },
  { queue: TASK_QUEUES.orchestration, type: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, what: 'activity' },
  { queue: TASK_QUEUES.training, type: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, what: 'activity' },
];

const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '5s' });
const missing: string[] = [];
try {
  for (const { queue, type, what } of expected) {
    const { pollers } = await connection.workflowService.describeTaskQueue({
      namespace: config.temporal.namespace,
      taskQueue: { name: queue },
      taskQueueType: type,
    });
    const polling = (pollers ?? []).some((poller) => {
      const lastAccessMs = Number(poller.lastAccessTime?.seconds ?? 0) * 1000;
      return poller.identity?.includes(hostname) && Date.now() - lastAccessMs < MAX_POLL_AGE_MS;
    });
    if (!polling) missing.push(`${what} tasks of "${queue}"`);
  }
} finally {
  await connection.close();
}
if (missing.length > 0) {
  console.error(`no poller whose identity names host ${hostname} for: ${missing.join(', ')}`);
  process.exit(1);
}
console.log(`polling ${expected.length} task queue types from host ${hostname}`);
