/**
 * The TrainAndRegister request and its defaults. Pure TypeScript with no Node imports:
 * the workflow bundle uses it, so it must stay deterministic.
 */
export interface SweepSpec {
  epochs: number[];
  batchSizes: number[];
  dropouts: number[];
  learningRates?: number[];
}

export type RegisterPolicy = 'always' | 'if-better';

export interface RetrainTriggerInfo {
  kind: 'grafana' | 'manual' | 'cli';
  /** Who or what asked: alert rule name, user, command. */
  by: string;
  /** The registry's retrain_requests row id, when the API recorded one. */
  requestId?: number;
  alerts?: { status: string; labels: Record<string, string>; startsAt?: string; fingerprint?: string }[];
}

export interface TrainAndRegisterRequest {
  modelName: string;
  /** Deployments whose labelled records form the dataset. Ignored when reusing a dataset. */
  deployments: string[];
  trigger: RetrainTriggerInfo;
  architecture?: string;
  width?: number;
  height?: number;
  labelMaxMm?: number;
  testFraction?: number;
  seed?: number;
  sweep?: Partial<SweepSpec>;
  /** The metric that picks the best trial; lower is better. */
  selectionMetric?: string;
  registerPolicy?: RegisterPolicy;
  /** Most trials training at once; unset, the training worker's slots (derived from its cores) decide. */
  parallelism?: number;
  /** Rerun only the experiment step on the preprocessed dataset of an earlier run. */
  reuseDataset?: { manifestKey: string };
}

export type ResolvedRequest = Required<Omit<TrainAndRegisterRequest, 'reuseDataset' | 'sweep' | 'parallelism'>> & {
  sweep: SweepSpec & { learningRates: number[] };
  reuseDataset?: { manifestKey: string };
  parallelism?: number;
};

export const DEFAULT_TRAINING = {
  architecture: 'compact',
  width: 40,
  height: 30,
  labelMaxMm: 350,
  testFraction: 0.2,
  seed: 42,
  sweep: { epochs: [12], batchSizes: [32, 64], dropouts: [0.1, 0.2], learningRates: [0.001] },
  selectionMetric: 'test_mae_mm',
  registerPolicy: 'if-better' as RegisterPolicy,
};

/** How many trials the sweep trains at once, and who decided. */
export interface SweepParallelism {
  value: number;
  /** `request`: the request said so; `training-worker`: the slots the training worker derived from its cores or SWEEP_PARALLELISM; `legacy-default`: runs recorded before the worker decided. */
  source: 'request' | 'training-worker' | 'legacy-default';
}

export function resolveRequest(r: TrainAndRegisterRequest): ResolvedRequest {
  const d = DEFAULT_TRAINING;
  return {
    modelName: r.modelName,
    deployments: r.deployments ?? [],
    trigger: r.trigger ?? { kind: 'cli', by: 'unknown' },
    architecture: r.architecture ?? d.architecture,
    width: r.width ?? d.width,
    height: r.height ?? d.height,
    labelMaxMm: r.labelMaxMm ?? d.labelMaxMm,
    testFraction: r.testFraction ?? d.testFraction,
    seed: r.seed ?? d.seed,
    sweep: {
      epochs: r.sweep?.epochs ?? d.sweep.epochs,
      batchSizes: r.sweep?.batchSizes ?? d.sweep.batchSizes,
      dropouts: r.sweep?.dropouts ?? d.sweep.dropouts,
      learningRates: r.sweep?.learningRates ?? d.sweep.learningRates,
    },
    selectionMetric: r.selectionMetric ?? d.selectionMetric,
    registerPolicy: r.registerPolicy ?? d.registerPolicy,
    parallelism: r.parallelism,
    reuseDataset: r.reuseDataset,
  };
}

export interface TrialParams {
  epochs: number;
  batchSize: number;
  dropout: number;
  learningRate: number;
}

/** Every combination of the sweep's values, in a stable order. */
export function sweepCombinations(sweep: ResolvedRequest['sweep']): TrialParams[] {
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

/** The trial with the lowest value of the metric; ties go to the earlier trial. */
export function selectBestTrial<T extends TrialSummary>(trials: T[], metric: string): T {
  let best: T | undefined;
  for (const t of trials) {
    const value = t.metrics[metric];
    if (value === undefined || !Number.isFinite(value)) continue;
    if (!best || value < best.metrics[metric]) best = t;
  }
  if (!best)
    throw new Error(`no trial reported a finite "${metric}" (metrics: ${Object.keys(trials[0]?.metrics ?? {}).join(', ') || 'none'})`);
  return best;
}

/** Task queues: light orchestration steps, and CPU-heavy ML steps (scaled separately). */
export const TASK_QUEUES = { orchestration: 'orchestration', training: 'training' } as const;

export const trainWorkflowIdFor = (modelName: string) => `train-and-register-${modelName}`;
