import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection } from '@temporalio/worker';
import {
  createMonitorActivities,
  createOrchestrationActivities,
  createRolloutActivities,
  createTrainingActivities,
  type ActivityContext,
} from '../activities/index.js';
import { trainingCapacity, type TrainingCapacity } from '../core/ml/trainingCapacity.js';
import { TASK_QUEUES } from '../workflows/shared.js';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerWiring {
  connection: NativeConnection;
  namespace: string;
  context: ActivityContext;
  /** Trials at once and threads per trial on the training worker; default: from the cores. */
  capacity?: TrainingCapacity;
}

/** The orchestration worker (workflows and light activities) and the training worker (ML activities). */
export async function createWorkers(options: WorkerWiring): Promise<Worker[]> {
  const capacity = options.capacity ?? trainingCapacity();
  return [await createOrchestrationWorker(options), await createTrainingWorker({ ...options, capacity })];
}

/** The worker that runs workflows and the light, I/O-bound activities (the drift monitor's among them). */
export function createOrchestrationWorker({ connection, namespace, context }: WorkerWiring): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue: TASK_QUEUES.orchestration,
    workflowsPath,
    activities: { ...createOrchestrationActivities(context), ...createMonitorActivities(context), ...createRolloutActivities(context) },
  });
}

export interface TrainingWorkerWiring extends WorkerWiring {
  capacity: TrainingCapacity;
  /** How the worker appears in Temporal's history (default: pid@host). */
  identity?: string;
}

/** A worker on the training queue with one activity slot per trial its capacity allows. */
export function createTrainingWorker(options: TrainingWorkerWiring): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    ...(options.identity ? { identity: options.identity } : {}),
    taskQueue: TASK_QUEUES.training,
    activities: createTrainingActivities({ ...options.context, capacity: options.capacity }),
    maxConcurrentActivityTaskExecutions: options.capacity.slots,
  });
}
