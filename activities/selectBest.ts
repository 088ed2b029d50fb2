import { ApplicationFailure } from '@temporalio/activity';
import { selectBestTrial, type TrialSummary } from '../core/training/sweep.js';
import type { SelectBestResult } from '../workflows/trainAndRegister/contract.js';

export interface SelectBestInput {
  trials: TrialSummary[];
  metric: string;
}

/** Picks the trial with the lowest value of the selection metric and ranks all of them. */
export const selectBest =
  () =>
  async (input: SelectBestInput): Promise<SelectBestResult> => {
    const best = selectBestTrial(input.trials, input.metric);
    if (!best) {
      const seen = Object.keys(input.trials[0]?.metrics ?? {}).join(', ') || 'none';
      throw ApplicationFailure.nonRetryable(`no trial reported a finite "${input.metric}" (metrics: ${seen})`, 'NoFiniteMetric');
    }
    const ranking = input.trials
      .map((t) => ({ trialId: t.trialId, value: Number.isFinite(t.metrics[input.metric]) ? t.metrics[input.metric] : null }))
      .sort((a, b) => (a.value ?? Infinity) - (b.value ?? Infinity));
    return { best, ranking };
  };
