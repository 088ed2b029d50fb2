import { condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RolloutActivities } from '../../activities/index.js';
import type { RolloutPolicy } from '../../core/rollout/rolloutPolicy.js';
import { judgeStage } from '../../core/rollout/stageVerdict.js';
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
 * share of the rovers), each watched until the paired test decides. Promotes the candidate or rolls it back;
 * a human can promote, abort or pause it by signal. A newer candidate registered meanwhile replaces this one.
 */
export async function Rollout(input: RolloutInput): Promise<RolloutResult> {
  const status: RolloutStatus = {
    candidateVersion: input.candidateVersion,
    currentVersion: null,
    stage: 'starting',
    paused: false,
    stageStartedAt: null,
    lastCheck: null,
  };
  let instruction: ({ kind: 'promote' | 'abort' } & Instruction) | undefined;
  let newerCandidate = 0;
  setHandler(promoteSignal, (i) => void (instruction ??= { kind: 'promote', ...i }));
  setHandler(abortSignal, (i) => void (instruction ??= { kind: 'abort', ...i }));
  setHandler(pauseSignal, () => void (status.paused = true));
  setHandler(resumeSignal, () => void (status.paused = false));
  setHandler(candidateRegisteredSignal, ({ candidateVersion }) => {
    if (candidateVersion > input.candidateVersion) newerCandidate = Math.max(newerCandidate, candidateVersion);
  });
  setHandler(rolloutStatusQuery, () => status);

  const { deploymentId, modelName, candidateVersion, resume } = input;
  const rollout = { deploymentId, modelName, candidateVersion };
  /** The last look at each stage so far. */
  const checks: StageCheck[] = resume?.checks ?? [];
  const result = (outcome: RolloutOutcome, reason: string): RolloutResult => {
    status.stage = 'done';
    return { ...rollout, currentVersion: status.currentVersion, outcome, reason, stages: checks };
  };
  const finish = async (outcome: 'promoted' | 'rolled-back' | 'aborted', reason: string) => {
    await finishRollout({
      ...rollout,
      outcome: outcome === 'promoted' ? 'promoted' : 'rolled-back',
      note: { outcome, reason, stages: checks },
    });
    return result(outcome, reason);
  };

  const plan = await planRollout(rollout);
  if (!plan.ok) return result('not-started', plan.reason);
  status.currentVersion = plan.currentVersion;
  const stages: RolloutStage[] = plan.strategy === 'shadow' ? ['shadow', 'canary'] : ['canary'];
  for (const stage of stages.slice(resume ? stages.indexOf(resume.stage) : 0)) {
    const entry = await enterRolloutStage({ ...rollout, stage, canaryShare: plan.policy.canaryShare });
    if (!entry.ok) return result('superseded', entry.reason);
    if (plan.candidateProblem) return finish('rolled-back', `the candidate cannot serve: ${plan.candidateProblem}`);
    const stageStartedAt = resume?.stage === stage ? resume.stageStartedAt : Date.now();
    Object.assign(status, { stage, stageStartedAt });

    for (;;) {
      await condition(() => instruction !== undefined || newerCandidate > 0, `${plan.policy.checkSeconds} seconds`);
      while (status.paused && !instruction && !newerCandidate) await condition(() => !status.paused || !!instruction || newerCandidate > 0);
      // The registry's next stage entry replaces the candidate and records which one it replaced.
      if (newerCandidate) await continueAsNew<typeof Rollout>({ ...rollout, candidateVersion: newerCandidate });
      if (instruction) {
        const reason = `${instruction.kind} by ${instruction.by}${instruction.reason ? `: ${instruction.reason}` : ''}`;
        return finish(instruction.kind === 'promote' ? 'promoted' : 'aborted', reason);
      }

      const evidence = await checkRolloutStage({ ...rollout, currentVersion: plan.currentVersion, since: stageStartedAt });
      if (!evidence.ongoing) return result('superseded', evidence.reason);
      const { frames, answeredByCandidate, labelled, comparison } = evidence;
      const judgement = judgeStage(
        { ...comparison, labelled },
        stageOf(plan.policy, stage),
        plan.policy.alpha,
        Date.now() - stageStartedAt,
      );
      const check: StageCheck = { stage, at: Date.now(), frames, answeredByCandidate, comparison, ...judgement };
      status.lastCheck = check;
      keepLastOfStage(checks, check);
      if (judgement.verdict === 'roll-back') return finish('rolled-back', `${stage}: ${judgement.reason}`);
      if (judgement.verdict === 'advance') break;
      if (workflowInfo().continueAsNewSuggested)
        await continueAsNew<typeof Rollout>({ ...rollout, resume: { stage, stageStartedAt, checks } });
    }
  }
  return finish('promoted', checks.map((c) => `${c.stage}: ${c.reason}`).join('; '));
}

const stageOf = (policy: RolloutPolicy, stage: RolloutStage) => (stage === 'shadow' ? policy.shadow : policy.canary);

function keepLastOfStage(checks: StageCheck[], check: StageCheck) {
  const earlier = checks.findIndex((c) => c.stage === check.stage);
  if (earlier >= 0) checks[earlier] = check;
  else checks.push(check);
}
