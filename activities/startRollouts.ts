import { ApplicationFailure } from '@temporalio/activity';
import { rollsOut } from '../core/stores/registry.js';
import type { ActivityContext } from './context.js';
import {
  candidateRegisteredSignal,
  rolloutStartAttributes,
  rolloutWorkflowIdFor,
  type RolloutInput,
  type RolloutWorkflow,
} from '../workflows/rollout/contract.js';
import { TASK_QUEUES, WORKFLOW_TYPES } from '../workflows/shared.js';
import type { StartedRollout } from '../workflows/trainAndRegister/contract.js';

/**
 * Starts a Rollout of a newly registered version on every deployment that rolls its model out (on `latest`, with a
 * shadow or canary strategy, serving an older current version). signalWithStart on the deployment's fixed id: a
 * rollout already running there takes the newer candidate instead of a second rollout starting.
 */
export const startRollouts =
  ({ stores, temporal }: ActivityContext) =>
  async ({ modelName, version }: { modelName: string; version: number }): Promise<StartedRollout[]> => {
    const deployments = (await stores.registry.listDeployments()).filter(
      (d) => d.modelName === modelName && rollsOut(d) && d.currentVersion !== null && d.currentVersion < version,
    );
    if (deployments.length === 0) return [];
    if (!temporal) throw ApplicationFailure.nonRetryable('this worker was started without a Temporal client to start rollouts');
    const client = await temporal.client();
    const started: StartedRollout[] = [];
    for (const deployment of deployments) {
      const input: RolloutInput = { deploymentId: deployment.id, modelName, candidateVersion: version };
      const handle = await client.workflow.signalWithStart<RolloutWorkflow, [{ candidateVersion: number }]>(WORKFLOW_TYPES.rollout, {
        taskQueue: TASK_QUEUES.orchestration,
        workflowId: rolloutWorkflowIdFor(deployment.id),
        args: [input],
        signal: candidateRegisteredSignal,
        signalArgs: [{ candidateVersion: version }],
        ...rolloutStartAttributes(input),
      });
      started.push({ deploymentId: deployment.id, workflowId: handle.workflowId, runId: handle.signaledRunId });
    }
    return started;
  };
