import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createOrchestrationActivities, createTrainingActivities, type ActivityContext } from '../activities/index.js';
import { TASK_QUEUES } from '../core/training/request.js';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Trials that train at once on this machine: one per core, each in its own process. */
export const defaultTrainingSlots = () => Math.max(1, os.availableParallelism());

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  context: ActivityContext;
  trainingSlots?: number;
}

/** The orchestration worker (workflows and light activities) and the training worker (ML activities). */
export async function createWorkers({ connection, namespace, context, trainingSlots }: WorkerOptions): Promise<Worker[]> {
  const orchestration = await Worker.create({
    connection,
    namespace,
    taskQueue: TASK_QUEUES.orchestration,
    workflowsPath,
    activities: createOrchestrationActivities(context),
  });
  const training = await Worker.create({
    connection,
    namespace,
    taskQueue: TASK_QUEUES.training,
    activities: createTrainingActivities(context),
    maxConcurrentActivityTaskExecutions: trainingSlots ?? defaultTrainingSlots(),
  });
  return [orchestration, training];
}
