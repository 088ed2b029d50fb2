import { WorkflowNotFoundError } from '@temporalio/client';
import { effectiveRolloutPolicy } from '../core/rollout/rolloutPolicy.js';
import type { RegistryStore } from '../core/stores/registry.js';
import {
  abortSignal,
  pauseSignal,
  promoteSignal,
  resumeSignal,
  rolloutStatusQuery,
  rolloutWorkflowIdFor,
  type Instruction as RolloutInstruction,
  type RolloutResult,
} from '../workflows/rollout/contract.js';
import { ControlError, isTemporalUnavailable, notFound } from './errors.js';
import { callTemporal, type TemporalAccess } from './temporal/access.js';
import { runUiLink, type TemporalUi } from './temporal/links.js';

export interface RolloutControlDeps extends TemporalAccess {
  registry: RegistryStore;
  temporalUi: TemporalUi;
}

const SIGNALS = { promote: promoteSignal, abort: abortSignal, pause: pauseSignal, resume: resumeSignal };
export const ROLLOUT_ACTIONS = ['promote', 'abort', 'pause', 'resume'] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

async function deploymentOrNotFound(deps: RolloutControlDeps, id: string) {
  const deployment = await deps.registry.getDeployment(id);
  if (!deployment) throw notFound(`deployment "${id}"`);
  return deployment;
}

/** A deployment's rollout: what the registry serves, and its Rollout workflow's state (the registry's side answers while Temporal cannot). */
export async function describeRollout(deps: RolloutControlDeps, deploymentId: string) {
  const deployment = await deploymentOrNotFound(deps, deploymentId);
  const workflowId = rolloutWorkflowIdFor(deployment.id);
  const workflow = await callTemporal(deps, async (client) => {
    const handle = client.workflow.getHandle(workflowId);
    try {
      const { runId, status } = await handle.describe();
      const ui = runUiLink(deps.temporalUi, workflowId, runId);
      if (status.name === 'RUNNING') return { workflowId, runId, status: status.name, ui, state: await handle.query(rolloutStatusQuery) };
      const result = status.name === 'COMPLETED' ? ((await handle.result()) as RolloutResult) : undefined;
      return { workflowId, runId, status: status.name, ui, result };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }).catch((err) => {
    if (isTemporalUnavailable(err)) return { workflowId, status: 'UNKNOWN', error: err.message };
    throw err;
  });
  return {
    deployment: deployment.id,
    strategy: deployment.strategy,
    currentVersion: deployment.currentVersion,
    rollout: deployment.rollout,
    policy: effectiveRolloutPolicy(deployment.rolloutPolicy),
    workflow,
  };
}

/** A human's promote, abort, pause or resume, signalled to the deployment's running Rollout; refused when none runs. */
export async function signalRollout(
  deps: RolloutControlDeps,
  deploymentId: string,
  action: RolloutAction,
  instruction: RolloutInstruction,
) {
  const deployment = await deploymentOrNotFound(deps, deploymentId);
  const workflowId = rolloutWorkflowIdFor(deployment.id);
  const signalled = await callTemporal(deps, async (client) => {
    try {
      // A closed rollout (or none) refuses the signal.
      await client.workflow.getHandle(workflowId).signal(SIGNALS[action], instruction);
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  });
  if (!signalled) throw new ControlError('conflict', 'no_rollout', `deployment "${deployment.id}" has no rollout running`);
  return { deployment: deployment.id, workflowId, signal: action, ...instruction };
}
