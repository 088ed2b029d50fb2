import { WorkflowNotFoundError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { mapLimit } from '../core/mapLimit.js';
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
import { MODEL_NAME_ATTRIBUTE, ROLLOUT_OUTCOME_ATTRIBUTE, WORKFLOW_TYPES } from '../workflows/shared.js';
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

const ROLLOUT_ID_PREFIX = rolloutWorkflowIdFor('');

type RunInfo = Pick<WorkflowExecutionInfo, 'workflowId' | 'runId' | 'status' | 'startTime' | 'closeTime' | 'typedSearchAttributes'>;

/**
 * A Rollout run as the rollouts page shows it. A running run's candidate comes from `running` (the registry's
 * rollouts, so that a list needs no worker to answer a query) or, for one run in detail, its status query; a
 * completed run's from its result.
 */
async function rolloutRunOf(
  client: Client,
  ui: TemporalUi,
  info: RunInfo,
  detail: { running?: Map<string, number>; withEvidence: boolean },
) {
  const handle = client.workflow.getHandle(info.workflowId, info.runId, { followRuns: false });
  const status = info.status.name;
  const state = status === 'RUNNING' && detail.withEvidence ? await handle.query(rolloutStatusQuery) : undefined;
  const result = status === 'COMPLETED' ? ((await handle.result()) as RolloutResult) : undefined;
  const candidateVersion =
    status === 'RUNNING' ? (state?.candidateVersion ?? detail.running?.get(info.workflowId)) : result?.candidateVersion;
  const row = {
    deploymentId: info.workflowId.slice(ROLLOUT_ID_PREFIX.length),
    modelName: info.typedSearchAttributes.get(MODEL_NAME_ATTRIBUTE) ?? result?.modelName ?? null,
    candidateVersion: candidateVersion ?? null,
    workflowId: info.workflowId,
    runId: info.runId,
    status,
    startTime: info.startTime,
    closeTime: info.closeTime ?? null,
    outcome: info.typedSearchAttributes.get(ROLLOUT_OUTCOME_ATTRIBUTE) ?? result?.outcome ?? null,
    ui: runUiLink(ui, info.workflowId, info.runId),
  };
  if (!detail.withEvidence) return row;
  return { ...row, ...(state ? { state } : {}), ...(result ? { result } : {}) };
}

/** Answers a page asks of one run at once. */
const RUNS_AT_ONCE = 8;

/**
 * Rollout runs as Temporal's visibility lists them, newest first: running ones with the registry's candidate, closed
 * ones with their outcome (a run continued as new, or terminated, has none). One deadline for all.
 */
export async function listRollouts(deps: RolloutControlDeps, filter: { status?: 'running' | 'closed'; limit: number }) {
  const clauses = [`WorkflowType = "${WORKFLOW_TYPES.rollout}"`];
  if (filter.status === 'running') clauses.push('ExecutionStatus = "Running"');
  if (filter.status === 'closed') clauses.push('ExecutionStatus != "Running"');
  const running = new Map(
    (await deps.registry.listDeployments()).flatMap((d) =>
      d.rollout ? [[d.rollout.workflowId, d.rollout.candidateVersion] as const] : [],
    ),
  );
  const rollouts = await callTemporal(deps, async (client) => {
    const infos: WorkflowExecutionInfo[] = [];
    for await (const info of client.workflow.list({ query: clauses.join(' AND '), pageSize: filter.limit })) {
      infos.push(info);
      if (infos.length >= filter.limit) break;
    }
    return mapLimit(infos, RUNS_AT_ONCE, (info) => rolloutRunOf(client, deps.temporalUi, info, { running, withEvidence: false }));
  });
  return { rollouts };
}

/** One Rollout run: while running its status (every look so far), once completed its result with the evidence. */
export async function describeRolloutRun(deps: RolloutControlDeps, workflowId: string, runId: string) {
  const run = await callTemporal(deps, async (client) => {
    try {
      const info = await client.workflow.getHandle(workflowId, runId, { followRuns: false }).describe();
      if (info.type !== WORKFLOW_TYPES.rollout) return null;
      return await rolloutRunOf(client, deps.temporalUi, info, { withEvidence: true });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  });
  if (!run) throw notFound(`rollout run ${workflowId}/${runId}`);
  return run;
}
