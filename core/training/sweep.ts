/**
 * The hyperparameter sweep and the selection of its best trial. Pure TypeScript with no Node
 * imports: the workflow bundle uses it, so it must stay deterministic.
 */
export interface SweepSpec {
  epochs: number[];
  batchSizes: number[];
  dropouts: number[];
  learningRates: number[];
}

/** The values one trial trains with: one combination of the sweep. */
export interface TrialParams {
  epochs: number;
  batchSize: number;
  dropout: number;
  learningRate: number;
}

export const SWEEP_KEYS = ['epochs', 'batchSizes', 'dropouts', 'learningRates'] as const;

/** Every combination of the sweep's values, in a stable order. */
export function sweepCombinations(sweep: SweepSpec): TrialParams[] {
  const combos: TrialParams[] = [];
  for (const epochs of sweep.epochs)
    for (const batchSize of sweep.batchSizes)
      for (const dropout of sweep.dropouts)
        for (const learningRate of sweep.learningRates) combos.push({ epochs, batchSize, dropout, learningRate });
  return combos;
}

export interface TrialSummary {
  trialId: string;
  params: TrialParams;
  metrics: Record<string, number>;
  artifactKey: string;
  artifactSha256: string;
}

/** The trial with the lowest value of the metric; ties go to the earlier trial. Undefined when no trial reported it. */
export function selectBestTrial<T extends TrialSummary>(trials: T[], metric: string): T | undefined {
  let best: T | undefined;
  for (const t of trials) {
    const value = t.metrics[metric];
    if (value === undefined || !Number.isFinite(value)) continue;
    if (!best || value < best.metrics[metric]) best = t;
  }
  return best;
}
