import { worseInStopBand } from '../training/distanceBands.js';
import type { PairedComparison } from './pairedTest.js';
import type { RolloutPolicy } from './rolloutPolicy.js';

export type StageVerdict = 'advance' | 'roll-back' | 'wait';

export interface StageJudgement {
  verdict: StageVerdict;
  reason: string;
}

/**
 * What a rollout stage does after a look at its paired evidence, `elapsedMs` after it began:
 * The signed-rank test speaks of the typical paired difference, not of the mean: a verdict needs the mean laser
 * error to agree (a candidate slightly better on most frames and far worse on a few is not promoted).
 * - roll back as soon as the candidate is significantly worse (one-sided Wilcoxon p < alpha, higher mean) on minFrames pairs,
 *   or has predicted on none of minFrames frames with a laser reading (it cannot load where the API serves);
 * - roll back, even when better on average, once it is significantly worse in the stop band (`stopBand`: the pairs whose
 *   laser reading is <= 100 mm, core/training/distanceBands.ts) on minFrames pairs in all;
 * - advance once it is significantly better (lower mean), after minFrames pairs and minMinutes, and in a canary once the candidate
 *   has answered its rovers' share of minFrames (`minCandidateAnswers`);
 * - roll back at maxMinutes when it has not been shown better (too few frames, or no significant difference);
 * - otherwise wait for more frames.
 */
export function judgeStage(
  comparison: Pick<PairedComparison, 'pairs' | 'pCandidateBetter' | 'pCandidateWorse' | 'meanDifference'> & {
    labelled: number;
    answeredByCandidate: number;
    /** The same comparison on the pairs in the stop band; absent (evidence recorded before it), no stop-band gate. */
    stopBand?: Pick<PairedComparison, 'pairs' | 'pCandidateWorse' | 'meanDifference' | 'meanErrorCurrent' | 'meanErrorCandidate'>;
  },
  stage: RolloutPolicy['shadow'],
  alpha: number,
  elapsedMs: number,
  minCandidateAnswers = 0,
): StageJudgement {
  const enough = comparison.pairs >= stage.minFrames;
  const minutes = elapsedMs / 60_000;
  if (comparison.pairs === 0 && comparison.labelled >= stage.minFrames)
    return { verdict: 'roll-back', reason: `no prediction of the candidate on ${comparison.labelled} frames with a laser reading` };
  const difference = comparison.meanDifference ?? 0;
  if (enough && comparison.pCandidateWorse < alpha && difference > 0)
    return { verdict: 'roll-back', reason: `worse than the current version: p = ${fmt(comparison.pCandidateWorse)} < ${alpha}` };
  const worseWhereItStops = enough && comparison.stopBand && worseInStopBand(comparison.stopBand, alpha);
  if (worseWhereItStops)
    return {
      verdict: 'roll-back',
      reason:
        difference < 0 ? `${worseWhereItStops}, though better on average (mean error ${fmtMm(-difference)} lower)` : worseWhereItStops,
    };
  const exposed = comparison.answeredByCandidate >= minCandidateAnswers;
  if (enough && exposed && minutes >= stage.minMinutes && comparison.pCandidateBetter < alpha && difference < 0)
    return { verdict: 'advance', reason: `better than the current version: p = ${fmt(comparison.pCandidateBetter)} < ${alpha}` };
  if (minutes >= stage.maxMinutes)
    return {
      verdict: 'roll-back',
      reason: enough
        ? `not shown better in ${stage.maxMinutes} min: p = ${fmt(comparison.pCandidateBetter)} >= ${alpha}`
        : `only ${comparison.pairs} of ${stage.minFrames} paired frames in ${stage.maxMinutes} min`,
    };
  const reason = !enough
    ? `${comparison.pairs} of ${stage.minFrames} paired frames`
    : !exposed
      ? `the candidate answered ${comparison.answeredByCandidate} of ${minCandidateAnswers} frames`
      : comparison.pCandidateBetter < alpha && difference >= 0
        ? `better on most frames, but its mean error is ${fmtMm(difference)} higher`
        : comparison.pCandidateBetter < alpha
          ? `better than the current version (p = ${fmt(comparison.pCandidateBetter)} < ${alpha}), the stage runs ${stage.minMinutes} min at least: ${minutes.toFixed(1)} so far`
          : 'no significant difference yet';
  return { verdict: 'wait', reason };
}

const fmt = (p: number) => p.toPrecision(2);
const fmtMm = (mm: number) => `${mm.toFixed(2)} mm`;

/** Frames the candidate must have answered before a canary stage advances: its rovers' share of the stage's minFrames. */
export const canaryAnswersNeeded = (minFrames: number, canaryRovers: number, rovers: number) =>
  rovers === 0 ? 0 : Math.ceil((minFrames * canaryRovers) / rovers);
