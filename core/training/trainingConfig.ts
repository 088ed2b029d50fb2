import type { DatasetPolicy } from '../ml/datasetPolicy.js';
import type { SweepSpec } from './sweep.js';

export type RegisterPolicy = 'always' | 'if-better';

/**
 * How a model is retrained: stored with the model in the registry (PUT /models/:name/training-config), the base of
 * every TrainAndRegister request for it (which adds who asked, and may override any of it).
 */
export interface TrainingConfig {
  /** Deployments whose labelled records form the dataset. */
  deployments: string[];
  architecture?: string;
  width?: number;
  height?: number;
  labelMaxMm?: number;
  testFraction?: number;
  seed?: number;
  /** Which labelled records the dataset keeps (default: all): bounds training time as the history grows. */
  datasetPolicy?: DatasetPolicy;
  sweep?: Partial<SweepSpec>;
  /** The metric that picks the best trial; lower is better. */
  selectionMetric?: string;
  registerPolicy?: RegisterPolicy;
  /** Most trials training at once; unset, the training worker's slots (derived from its cores) decide. */
  parallelism?: number;
  /** Stop a trial after `patience` epochs without a better MAE on `validationFraction` of its training frames (unset: every epoch runs). */
  earlyStopping?: { patience: number; validationFraction?: number };
  /** Successive halving: every trial trains `rungEpochs` epochs, then only the better half trains on to its epochs (unset: all do). */
  halving?: { rungEpochs: number };
  /** Start every trial from the latest registered version's weights when it has the same architecture and input (default false). */
  warmStart?: boolean;
}

/** Held out of the training frames for early stopping when the config does not say. */
export const DEFAULT_VALIDATION_FRACTION = 0.1;

export const DEFAULT_TRAINING = {
  architecture: 'compact',
  width: 40,
  height: 30,
  labelMaxMm: 350,
  testFraction: 0.2,
  seed: 42,
  sweep: { epochs: [12], batchSizes: [32, 64], dropouts: [0.1, 0.2], learningRates: [0.001] } satisfies SweepSpec,
  selectionMetric: 'test_mae_mm',
  registerPolicy: 'if-better' as RegisterPolicy,
};
