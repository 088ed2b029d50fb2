import {
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RolloutActivities } from '../../activities/index.js';
import type { StageEntry, StageEvidence } from '../../activities/rolloutSteps.js';
import { banditCandidateRovers, banditRng } from '../../core/rollout/bandit.js';
import type { DeploymentStrategy, RolloutPolicy } from '../../core/rollout/rolloutPolicy.js';
import { canaryAnswersNeeded, judgeStage } from '../../core/rollout/stageVerdict.js';
import type { RolloutStage } from '../../core/stores/registry.js';
import {
  abortSignal,
  candidateRegisteredSignal,
  pauseSignal,
  promoteSignal,
  resumeSignal,
  rolloutStatusQuery,
  type Instruction,
  type RolloutInput,
  type RolloutOutcome,
  type RolloutResult,
  type RolloutStatus,
  type StageCheck,
} from './contract.js';
import { ROLLOUT_OUTCOME_ATTRIBUTE } from '../shared.js';
import { outcomeLine, stageLine } from './summary.js';

/** Registry reads and writes: seconds, retried while the registry is down. */
const { planRollout, enterRolloutStage, finishRollout } = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumAttempts: 10 },
});
/** Reads up to 50,000 paired frames: seconds. A look that fails is taken again at the next check. */
const { checkRolloutStage } = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumAttempts: 3 },
});

/**
 * Judges a candidate version on one deployment against its current version, on the laser: a shadow stage (the
 * candidate predicts on every frame, the current version answers), then a canary stage (the candidate answers a
 * share of the rovers), each watched until the paired test decides. The `ab` strategy's one stage gives a fixed share
 * of the rovers the candidate and decides at its end; the `bandit` strategy's moves rovers toward the version that
 * errs less at each look. Promotes the candidate or rolls it back; a human can promote, abort or pause it by signal.
 * A newer candidate registered meanwhile replaces this one.
 */
export async function Rollout(input: RolloutInput): Promise<RolloutResult> {
  const { deploymentId, modelName, candidateVersion, resume } = input;
  const rollout = { deploymentId, modelName, candidateVersion };
  const control = listenForInstructions(candidateVersion);
  const { status } = control;
  /** The last look at each stage so far. */
  const checks: StageCheck[] = resume?.checks ?? [];
  const result = (outcome: RolloutOutcome, reason: string): RolloutResult => {
    status.stage = 'done';
    setCurrentDetails(outcomeLine(outcome, candidateVersion, deploymentId, reason));
    // Every Rollout completes; the outcome makes them searchable (`RolloutOutcome = "rolled-back"`). Histories before it have none.
    if (patched('rollout-outcome-attribute')) upsertSearchAttributes([{ key: ROLLOUT_OUTCOME_ATTRIBUTE, value: outcome }]);
    return { ...rollout, currentVersion: status.currentVersion, outcome, reason, stages: checks };
  };
  const finish = async (outcome: 'promoted' | 'rolled-back' | 'aborted', reason: string) => {
    const note = { outcome, reason, stages: checks };
    await finishRollout({ ...rollout, outcome: outcome === 'promoted' ? 'promoted' : 'rolled-back', note });
    return result(outcome, reason);
  };

  const plan = await planRollout(rollout);
  if (!plan.ok) return result('not-started', plan.reason);
  status.currentVersion = plan.currentVersion;
  const stages = STAGES[plan.strategy];
  for (const stage of stages.slice(resume ? stages.indexOf(resume.stage) : 0)) {
    const canaryShare = stage === 'ab' ? plan.policy.ab.share : plan.policy.canaryShare;
    const candidateRovers = resume?.stage === stage ? resume.candidateRovers : undefined;
    let entry = await enterRolloutStage({ ...rollout, stage, canaryShare, ...(candidateRovers === undefined ? {} : { candidateRovers }) });
    if (!entry.ok) return result('superseded', entry.reason);
    if (plan.candidateProblem) return finish('rolled-back', `the candidate cannot serve: ${plan.candidateProblem}`);
    const stageStartedAt = resume?.stage === stage ? resume.stageStartedAt : Date.now();
    Object.assign(status, { stage, stageStartedAt });

    for (;;) {
      await control.nextLook(plan.policy.checkSeconds);
      // The registry's next stage entry replaces the candidate and records which one it replaced.
      if (control.newerCandidate) await continueAsNew<typeof Rollout>({ ...rollout, candidateVersion: control.newerCandidate });
      const { instruction } = control;
      if (instruction) return finish(instruction.kind === 'promote' ? 'promoted' : 'aborted', describe(instruction));

      const evidence = await checkRolloutStage({ ...rollout, currentVersion: plan.currentVersion, since: stageStartedAt });
      if (!evidence.ongoing) return result('superseded', evidence.reason);
      const { frames, answeredByCandidate, labelled, comparison } = evidence;
      // Runs whose looks were judged without the stop band (a history from before it, or a look an older activity took) go on so.
      const stopBand = patched('rollout-stop-band-gate') ? evidence.stopBand : undefined;
      const elapsedMs = Date.now() - stageStartedAt;
      const policy = stageOf(plan.policy, stage);
      const minAnswers = canaryAnswersNeeded(policy.minFrames, entry.canaryClients.length, entry.clients);
      const judgement = judgeStage(
        { ...comparison, labelled, answeredByCandidate, stopBand },
        policy,
        plan.policy.alpha,
        elapsedMs,
        minAnswers,
      );
      const share = stage === 'shadow' ? {} : { candidateShare: entry.canaryClients.length / Math.max(1, entry.clients) };
      const check: StageCheck = {
        stage,
        at: Date.now(),
        frames,
        answeredByCandidate,
        comparison,
        ...(stopBand && { stopBand }),
        ...judgement,
        ...share,
      };
      status.lastCheck = check;
      status.checks.push(check);
      setCurrentDetails(stageLine(candidateVersion, plan.currentVersion, check));
      keepLastOfStage(checks, check);
      if (judgement.verdict === 'roll-back') return finish('rolled-back', `${stage}: ${judgement.reason}`);
      if (judgement.verdict === 'advance') break;
      if (stage === 'bandit') {
        entry = await moveBanditRovers(rollout, entry, evidence, plan.policy.bandit.floorShare, check);
        if (!entry.ok) return result('superseded', entry.reason);
      }
      if (workflowInfo().continueAsNewSuggested) {
        const bandit = stage === 'bandit' ? { candidateRovers: entry.canaryClients.length } : {};
        await continueAsNew<typeof Rollout>({ ...rollout, resume: { stage, stageStartedAt, checks, ...bandit } });
      }
    }
  }
  return finish('promoted', checks.map((c) => `${c.stage}: ${c.reason}`).join('; '));
}

type Order = { kind: 'promote' | 'abort' } & Instruction;

/** The signals a rollout listens to and its status query: a human's first promote or abort wins. */
function listenForInstructions(candidateVersion: number) {
  const control = {
    status: {
      candidateVersion,
      currentVersion: null,
      stage: 'starting',
      paused: false,
      stageStartedAt: null,
      lastCheck: null,
      checks: [],
    } as RolloutStatus,
    instruction: undefined as Order | undefined,
    newerCandidate: 0,
    /** Until the next look at the evidence: `checkSeconds`, sooner on an instruction or a newer candidate, longer while paused. */
    async nextLook(checkSeconds: number) {
      const interrupted = () => control.instruction !== undefined || control.newerCandidate > 0;
      await condition(interrupted, `${checkSeconds} seconds`);
      await condition(() => !control.status.paused || interrupted());
    },
  };
  setHandler(promoteSignal, (i) => void (control.instruction ??= { kind: 'promote', ...i }));
  setHandler(abortSignal, (i) => void (control.instruction ??= { kind: 'abort', ...i }));
  setHandler(pauseSignal, () => void (control.status.paused = true));
  setHandler(resumeSignal, () => void (control.status.paused = false));
  setHandler(candidateRegisteredSignal, ({ candidateVersion: registered }) => {
    if (registered > candidateVersion) control.newerCandidate = Math.max(control.newerCandidate, registered);
  });
  setHandler(rolloutStatusQuery, () => control.status);
  return control;
}

const describe = (order: Order) => `${order.kind} by ${order.by}${order.reason ? `: ${order.reason}` : ''}`;

const STAGES: Record<Exclude<DeploymentStrategy, 'direct'>, RolloutStage[]> = {
  shadow: ['shadow', 'canary'],
  canary: ['canary'],
  ab: ['ab'],
  bandit: ['bandit'],
};

const NO_DIFFERENCES = { pairs: 0, meanDifference: null, sdDifference: null };

/** After a bandit look that did not decide: the rovers Thompson sampling gives the candidate, moved in the registry if they changed. */
async function moveBanditRovers(
  rollout: Pick<RolloutInput, 'deploymentId' | 'modelName' | 'candidateVersion'>,
  entry: StageEntry,
  evidence: StageEvidence,
  floorShare: number,
  check: StageCheck,
): Promise<StageEntry> {
  const rovers = entry.canaryClients.length;
  const rng = banditRng(workflowInfo().workflowId, check.at);
  const next = banditCandidateRovers(evidence.differences ?? NO_DIFFERENCES, entry.clients, rovers, floorShare, rng);
  if (next === rovers) return entry;
  const look = { at: check.at, pairs: check.comparison.pairs, meanDifference: check.comparison.meanDifference, from: rovers, to: next };
  return enterRolloutStage({ ...rollout, stage: 'bandit', canaryShare: 0, candidateRovers: next, look });
}

/**
 * The limits a stage's looks are judged by. An `ab` stage lasts `minutes` whatever the evidence: it advances only at
 * its end (minMinutes = maxMinutes) and is rolled back before only when significantly worse.
 */
function stageOf(policy: RolloutPolicy, stage: RolloutStage): RolloutPolicy['shadow'] {
  if (stage === 'ab') return { minFrames: policy.ab.minFrames, minMinutes: policy.ab.minutes, maxMinutes: policy.ab.minutes };
  return policy[stage];
}

function keepLastOfStage(checks: StageCheck[], check: StageCheck) {
  const earlier = checks.findIndex((c) => c.stage === check.stage);
  if (earlier >= 0) checks[earlier] = check;
  else checks.push(check);
}
