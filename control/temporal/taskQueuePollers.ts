import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { TASK_QUEUES } from '../../workflows/shared.js';

const { TaskQueueType } = proto.temporal.api.enums.v1;

/** A polling worker renews its long poll at least once a minute. */
const MAX_POLL_AGE_MS = 2 * 60_000;

/** What the workers must poll: workflows and light activities on orchestration, ML activities on training. */
const POLLED = [
  { queue: TASK_QUEUES.orchestration, type: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, what: 'workflow' },
  { queue: TASK_QUEUES.orchestration, type: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, what: 'activity' },
  { queue: TASK_QUEUES.training, type: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, what: 'activity' },
];

export const POLLED_QUEUE_COUNT = POLLED.length;

/**
 * The task queues no worker has polled recently, as `<what> tasks of "<queue>"` (Temporal's
 * DescribeTaskQueue pollers). `identityIncludes` counts only the pollers whose identity contains it.
 */
export async function queuesWithoutPoller(
  workflowService: Connection['workflowService'],
  namespace: string,
  options: { identityIncludes?: string } = {},
): Promise<string[]> {
  const missing = await Promise.all(
    POLLED.map(async ({ queue, type, what }) => {
      const { pollers } = await workflowService.describeTaskQueue({ namespace, taskQueue: { name: queue }, taskQueueType: type });
      const polling = (pollers ?? []).some((poller) => {
        const lastAccessMs = Number(poller.lastAccessTime?.seconds ?? 0) * 1000;
        const ours = options.identityIncludes === undefined || Boolean(poller.identity?.includes(options.identityIncludes));
        return ours && Date.now() - lastAccessMs < MAX_POLL_AGE_MS;
      });
      return polling ? [] : [`${what} tasks of "${queue}"`];
    }),
  );
  return missing.flat();
}
