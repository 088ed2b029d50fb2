import { Context } from '@temporalio/activity';
import { getModelFiles } from '../core/ml/modelArtifact.js';
import { banditStartRovers, summarizeDifferences, type DifferenceSummary } from '../core/rollout/bandit.js';
import { canaryClientsOf, firstRanked } from '../core/rollout/canaryClients.js';
import { comparePaired, type PairedComparison } from '../core/rollout/pairedTest.js';
import { compareInStopBand } from '../core/rollout/pairedTest.js';
import { effectiveRolloutPolicy, type DeploymentStrategy, type RolloutPolicy } from '../core/rollout/rolloutPolicy.js';
import { rollsOut, type Deployment, type RolloutStage } from '../core/stores/registry.js';
import type { RolloutInput } from '../workflows/rollout/contract.js';
import { suspectClients } from '../control/sensorFaults.js';
import type { ActivityContext } from './context.js';

/** Most pairs one look at a stage compares (the newest). */
const MAX_PAIRS = 50_000;

export type RolloutPlan =
  | {
      ok: true;
      currentVersion: number;
      strategy: Exclude<DeploymentStrategy, 'direct'>;
      policy: RolloutPolicy;
      /** Why the candidate cannot serve (its artifact is missing or changed), if so: the rollout rolls it back at once. */
      candidateProblem: string | null;
    }
  | { ok: false; reason: string };

export interface StageEntry {
  ok: boolean;
  reason: string;
  canaryClients: string[];
  /** Rovers of the deployment when the stage began. */
  clients: number;
}

export interface StageEvidence {
  /** False: the deployment no longer runs this rollout (changed, rolled back or deleted by hand). */
  ongoing: boolean;
  reason: string;
  frames: number;
  answeredByCandidate: number;
  labelled: number;
  comparison: PairedComparison;
  /** The comparison on the pairs whose laser reading is in the stop band (<= 100 mm). */
  stopBand: PairedComparison;
  /** The paired differences' mean and spread, which a bandit stage learns from (absent in histories before it). */
  differences?: DifferenceSummary;
}

const workflowId = () => Context.current().info.workflowExecution?.workflowId ?? 'a rollout outside a workflow';

type RollingOut = Deployment & { strategy: Exclude<DeploymentStrategy, 'direct'>; currentVersion: number };

/** The deployment, when it can run this rollout; else why not (any more). */
function rollingOut(deployment: Deployment | undefined, input: RolloutInput): RollingOut | string {
  if (!deployment) return `deployment "${input.deploymentId}" no longer exists`;
  if (deployment.modelName !== input.modelName) return `deployment "${deployment.id}" now serves model "${deployment.modelName}"`;
  if (!rollsOut(deployment))
    return `deployment "${deployment.id}" no longer rolls out new versions (modelVersion ${deployment.modelVersion}, strategy ${deployment.strategy})`;
  if (deployment.currentVersion === null) return `deployment "${deployment.id}" has no current version to compare with`;
  if (deployment.currentVersion === input.candidateVersion) return `v${input.candidateVersion} is already its current version`;
  return deployment as RollingOut;
}

/** What the rollout compares with and how: the deployment's current version, strategy and policy; the candidate's artifact checked. */
export const planRollout =
  ({ stores }: ActivityContext) =>
  async (input: RolloutInput): Promise<RolloutPlan> => {
    const deployment = rollingOut(await stores.registry.getDeployment(input.deploymentId), input);
    if (typeof deployment === 'string') return { ok: false, reason: deployment };
    const candidate = await stores.registry.getModelVersion(input.modelName, input.candidateVersion);
    let candidateProblem: string | null = null;
    if (!candidate) candidateProblem = `model "${input.modelName}" has no version ${input.candidateVersion}`;
    else {
      const files = await getModelFiles(stores.objects, candidate.artifactKey).catch((err: Error) => err);
      if (files instanceof Error) candidateProblem = `its artifact ${candidate.artifactKey} cannot be read: ${files.message}`;
      else if (files.sha256 !== candidate.artifactSha256)
        candidateProblem = `its artifact ${candidate.artifactKey} changed since registration`;
    }
    return {
      ok: true,
      currentVersion: deployment.currentVersion,
      strategy: deployment.strategy,
      policy: effectiveRolloutPolicy(deployment.rolloutPolicy),
      candidateProblem,
    };
  };

export interface StageStep {
  stage: RolloutStage;
  /** The share of rovers the candidate answers in a canary or ab stage. */
  canaryShare: number;
  /** In a bandit stage: how many rovers the candidate answers (absent: half, where it starts), and the look that moved them. */
  candidateRovers?: number;
  look?: unknown;
}

/**
 * Moves the deployment's rollout to a stage in the registry; a canary, ab or bandit stage picks its rovers here. A bandit
 * stage entered again with another number of rovers moves rovers (recorded only when the rovers change).
 */
export const enterRolloutStage =
  ({ stores }: ActivityContext) =>
  async (input: RolloutInput & StageStep): Promise<StageEntry> => {
    const { registry } = stores;
    const deployment = rollingOut(await registry.getDeployment(input.deploymentId), input);
    if (typeof deployment === 'string') return { ok: false, reason: deployment, canaryClients: [], clients: 0 };
    const clients = (await registry.listClients()).filter((c) => c.deploymentId === input.deploymentId).map((c) => c.id);
    const canaryClients =
      input.stage === 'bandit'
        ? firstRanked(clients, input.candidateRovers ?? banditStartRovers(clients.length), input.deploymentId, input.candidateVersion)
        : input.stage === 'shadow'
          ? []
          : canaryClientsOf(clients, input.canaryShare, input.deploymentId, input.candidateVersion);
    const note = {
      stage: input.stage,
      clients: clients.length,
      canaryClients,
      canaryShare:
        input.stage === 'shadow' ? 0 : input.stage === 'bandit' ? canaryClients.length / Math.max(1, clients.length) : input.canaryShare,
      ...(input.look === undefined ? {} : { look: input.look }),
    };
    const { deployment: after } = await registry.setRolloutStage(input.deploymentId, {
      candidateVersion: input.candidateVersion,
      stage: input.stage,
      canaryClients,
      workflowId: workflowId(),
      note,
    });
    return {
      ok: true,
      reason: `${input.stage} stage`,
      canaryClients: after.rollout?.canaryClients ?? canaryClients,
      clients: clients.length,
    };
  };

/** One look at a stage: the frames since it began and both versions' laser errors on the frames both predicted. */
export const checkRolloutStage =
  ({ stores }: ActivityContext) =>
  async (input: RolloutInput & { currentVersion: number; since: number }): Promise<StageEvidence> => {
    const deployment = rollingOut(await stores.registry.getDeployment(input.deploymentId), input);
    const gone =
      typeof deployment === 'string'
        ? deployment
        : deployment.rollout?.candidateVersion !== input.candidateVersion &&
          `deployment "${input.deploymentId}" no longer rolls out v${input.candidateVersion} (ended by hand)`;
    // An ended rollout has nothing left to judge: no frames are read for it.
    if (gone) {
      const none = comparePaired([], []);
      return { ongoing: false, reason: gone, frames: 0, answeredByCandidate: 0, labelled: 0, comparison: none, stopBand: none };
    }
    const evidence = await stores.measurements.rolloutEvidence({
      deployment: input.deploymentId,
      modelName: input.modelName,
      currentVersion: input.currentVersion,
      candidateVersion: input.candidateVersion,
      since: input.since,
      maxPairs: MAX_PAIRS,
      // Suspect lasers' errors judge neither version.
      excludeClients: await suspectClients(stores.registry, input.deploymentId),
    });
    return {
      ongoing: true,
      reason: 'ongoing',
      frames: evidence.frames,
      answeredByCandidate: evidence.answeredByCandidate,
      labelled: evidence.labelled,
      comparison: comparePaired(evidence.pairs.current, evidence.pairs.candidate),
      stopBand: compareInStopBand(evidence.pairs.readings, evidence.pairs.current, evidence.pairs.candidate),
      differences: summarizeDifferences(evidence.pairs.current, evidence.pairs.candidate),
    };
  };

/** Records the end of the rollout in the registry: the candidate becomes current, or the current version stays. */
export const finishRollout =
  ({ stores }: ActivityContext) =>
  async (input: RolloutInput & { outcome: 'promoted' | 'rolled-back'; note: unknown }): Promise<{ recorded: boolean }> => {
    const { change } = await stores.registry.endRollout(input.deploymentId, {
      candidateVersion: input.candidateVersion,
      outcome: input.outcome,
      workflowId: workflowId(),
      note: input.note,
    });
    return { recorded: change !== null };
  };
