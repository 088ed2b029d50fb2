import type { PairedComparison } from './pairedTest.js';
import type { RolloutPolicy } from './rolloutPolicy.js';

export type StageVerdict = 'advance' | 'roll-back' | 'wait';

export interface StageJudgement {
  verdict: StageVerdict;
  reason: string;
}

/**
 * What a rollout stage does after a look at its paired evidence, `elapsedMs` after it began:
 * - roll back as soon as the candidate is significantly worse (one-sided Wilcoxon p < alpha) on minFrames pairs,
 *   or has predicted on none of minFrames frames with a laser reading (it cannot load where the API serves);
 * - advance once it is significantly better, after minFrames pairs and minMinutes;
 * - roll back at maxMinutes when it has not been shown better (too few frames, or no significant difference);
 * - otherwise wait for more frames.
 */
export function judgeStage(
  comparison: Pick<PairedComparison, 'pairs' | 'pCandidateBetter' | 'pCandidateWorse'> & { labelled: number },
  stage: RolloutPolicy['shadow'],
  alpha: number,
  elapsedMs: number,
): StageJudgement {
  const enough = comparison.pairs >= stage.minFrames;
  const minutes = elapsedMs / 60_000;
  if (comparison.pairs === 0 && comparison.labelled >= stage.minFrames)
    return { verdict: 'roll-back', reason: `no prediction of the candidate on ${comparison.labelled} frames with a laser reading` };
  if (enough && comparison.pCandidateWorse < alpha)
    return { verdict: 'roll-back', reason: `worse than the current version: p = ${fmt(comparison.pCandidateWorse)} < ${alpha}` };
  if (enough && minutes >= stage.minMinutes && comparison.pCandidateBetter < alpha)
    return { verdict: 'advance', reason: `better than the current version: p = ${fmt(comparison.pCandidateBetter)} < ${alpha}` };
  if (minutes >= stage.maxMinutes)
    return {
      verdict: 'roll-back',
      reason: enough
        ? `not shown better in ${stage.maxMinutes} min: p = ${fmt(comparison.pCandidateBetter)} >= ${alpha}`
        : `only ${comparison.pairs} of ${stage.minFrames} paired frames in ${stage.maxMinutes} min`,
    };
  return { verdict: 'wait', reason: enough ? 'no significant difference yet' : `${comparison.pairs} of ${stage.minFrames} paired frames` };
}

const fmt = (p: number) => p.toPrecision(2);
