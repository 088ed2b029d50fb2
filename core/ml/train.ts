import { bandMetrics } from '../training/distanceBands.js';
import type { TrialParams } from '../training/sweep.js';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { buildModel } from './architectures.js';
import { clipLabel } from './labels.js';
import type { Tf } from './backend.js';
import type { Split } from './dataset.js';
import { fitInGraph, UnsupportedModelError } from './graphTraining.js';

export interface TrainRequest {
  architecture: string;
  width: number;
  height: number;
  labelMaxMm: number;
  params: TrialParams;
  train: Split;
  test: Split;
  seed: number;
  /** Continue from a checkpoint: its weights and the number of epochs already done. */
  resume?: { model: LayersModel; epochsDone: number };
  /** Start a fresh model from these weights (a warm start from an earlier version of the same architecture and input). */
  initialWeights?: Tensor[];
  /** Frames held out of the training set: their MAE (`val_mae_mm`) is measured after every epoch. */
  validation?: Split;
  /** With `validation`: stop after `patience` epochs without a better validation MAE, and keep the best epoch's weights. */
  earlyStopping?: { patience: number };
  /** Train in a TensorFlow graph (core/ml/graphTraining.ts) where the backend and the model allow (the default); false: fit. */
  graph?: boolean;
  onEpochEnd?: (epoch: number, logs: Record<string, number>, model: LayersModel) => Promise<void>;
}

/** What early stopping did: the epochs trained in this call, and whether the plateau ended them before `epochs`. */
export interface EpochsRun {
  epochsRun: number;
  stoppedEarly: boolean;
  /** The epoch (1-based) whose weights the model keeps, when early stopping restored the best one. */
  bestEpoch?: number;
}

export interface ErrorMetrics {
  mae_mm: number;
  rmse_mm: number;
  max_error_mm: number;
}

/** Frames as a [count, height, width, 3] float tensor in 0..1, straight from the dataset's uint8 bytes. */
export function pixelsToTensor(tf: Tf, pixels: Uint8Array, count: number, height: number, width: number): Tensor {
  return tf.tidy(() => tf.tensor4d(pixels, [count, height, width, 3], 'int32').toFloat().div(255));
}

/** Labels as a [count, 1] tensor, clipped to 0..labelMaxMm and scaled to 0..1 (the sigmoid output's range). */
export function labelsToTensor(tf: Tf, labelsMm: Float32Array, labelMaxMm: number): Tensor {
  return tf.tidy(() => tf.tensor2d(labelsMm, [labelsMm.length, 1]).clipByValue(0, labelMaxMm).div(labelMaxMm));
}

/** Labels as the model trains on them (clipped and scaled to 0..1), in an array. */
export function scaledLabels(tf: Tf, labelsMm: Float32Array, labelMaxMm: number): Float32Array {
  return tf.tidy(() => labelsToTensor(tf, labelsMm, labelMaxMm).dataSync() as Float32Array);
}

/** Predictions in mm for a batch of frames. */
export async function predictMm(tf: Tf, model: LayersModel, x: Tensor, labelMaxMm: number): Promise<Float32Array> {
  const out = tf.tidy(() => (model.predict(x, { batchSize: 128 }) as Tensor).reshape([-1]).mul(labelMaxMm));
  const values = (await out.data()) as Float32Array;
  out.dispose();
  return values;
}

export async function evaluateMm(
  tf: Tf,
  model: LayersModel,
  split: Split,
  height: number,
  width: number,
  labelMaxMm: number,
): Promise<ErrorMetrics> {
  return errorMetricsOf(await errorsMm(tf, model, split, height, width, labelMaxMm));
}

/** Frames turned into a float tensor at once when a split is measured: memory stays bounded (a 60k-frame split at 100x75 as one float tensor is 4 GB, 13 GB with its copies on the way). */
const PREDICT_CHUNK_FRAMES = 1024;

/** A model's predictions in mm for every frame of a split, chunk by chunk. */
export async function predictSplitMm(tf: Tf, model: LayersModel, split: Split, height: number, width: number, labelMaxMm: number) {
  const frameBytes = height * width * 3;
  const predicted = new Float32Array(split.count);
  for (let start = 0; start < split.count; start += PREDICT_CHUNK_FRAMES) {
    const end = Math.min(start + PREDICT_CHUNK_FRAMES, split.count);
    const x = pixelsToTensor(tf, split.pixels.subarray(start * frameBytes, end * frameBytes), end - start, height, width);
    try {
      predicted.set(await predictMm(tf, model, x, labelMaxMm), start);
    } finally {
      x.dispose();
    }
  }
  return predicted;
}

/** The absolute error (mm) of a model on every frame of a split, against its label clipped as the model learned it. */
export async function errorsMm(tf: Tf, model: LayersModel, split: Split, height: number, width: number, labelMaxMm: number) {
  const predicted = await predictSplitMm(tf, model, split, height, width, labelMaxMm);
  return Float64Array.from(predicted, (p, i) => Math.abs(p - clipLabel(split.labelsMm[i], labelMaxMm)));
}

/** Mean, root mean square and largest of absolute errors. */
export function errorMetricsOf(errors: ArrayLike<number>): ErrorMetrics {
  let [abs, sq, max] = [0, 0, 0];
  for (let i = 0; i < errors.length; i++) {
    abs += errors[i];
    sq += errors[i] * errors[i];
    max = Math.max(max, errors[i]);
  }
  const n = Math.max(errors.length, 1);
  return { mae_mm: abs / n, rmse_mm: Math.sqrt(sq / n), max_error_mm: max };
}

/** A model's test metrics: the overall errors and, per distance band and in the stop band, mean error and frames. */
export function testMetricsOf(
  errors: ArrayLike<number>,
  labelsMm: ArrayLike<number>,
): Record<string, number> & { test_mae_mm: number; test_rmse_mm: number; test_max_error_mm: number } {
  const overall = errorMetricsOf(errors);
  return {
    test_mae_mm: overall.mae_mm,
    test_rmse_mm: overall.rmse_mm,
    test_max_error_mm: overall.max_error_mm,
    ...bandMetrics(labelsMm, errors),
  };
}

/** Trains one sweep combination (Adam, MSE, MAE) and measures it on the test split in mm. */
export async function trainModel(tf: Tf, req: TrainRequest) {
  const { height, width, labelMaxMm, params } = req;
  const model =
    req.resume?.model ??
    buildModel(tf, req.architecture, { width, height, dropout: params.dropout, learningRate: params.learningRate, seed: req.seed });
  if (!req.resume && req.initialWeights) model.setWeights(req.initialWeights);
  // A checkpoint saved with its optimizer comes back compiled, Adam's state included.
  if (req.resume && !req.resume.model.optimizer)
    model.compile({ optimizer: tf.train.adam(params.learningRate), loss: 'meanSquaredError', metrics: ['mae'] });
  const history: Record<string, number[]> = {};
  const startEpoch = req.resume?.epochsDone ?? 0;
  const plateau = new PlateauWatch(tf, req.earlyStopping?.patience);
  const run: EpochsRun = { epochsRun: 0, stoppedEarly: false };
  const onEpochEnd = async (epoch: number, logs: Record<string, number>): Promise<boolean> => {
    if (req.validation)
      logs = { ...logs, val_mae_mm: errorMetricsOf(await errorsMm(tf, model, req.validation, height, width, labelMaxMm)).mae_mm };
    for (const [k, v] of Object.entries(logs)) (history[k] ??= []).push(v);
    run.epochsRun++;
    await req.onEpochEnd?.(epoch, logs, model);
    const stop = req.validation !== undefined && plateau.stopAfter(epoch, logs.val_mae_mm, model);
    if (stop && epoch + 1 < params.epochs) run.stoppedEarly = true;
    return stop;
  };
  let engine: TrainingEngine = 'fit';
  try {
    if (startEpoch < params.epochs) {
      const fitOptions = { epochs: params.epochs, initialEpoch: startEpoch, batchSize: params.batchSize };
      engine = await fitWithEngine(tf, model, req, { ...fitOptions, onEpochEnd });
    }
    run.bestEpoch = plateau.restoreBest(model);
  } finally {
    plateau.dispose();
  }
  const evaluating = performance.now();
  const test = await errorsMm(tf, model, req.test, height, width, labelMaxMm);
  const train = await evaluateMm(tf, model, req.train, height, width, labelMaxMm);
  const evaluateSeconds = (performance.now() - evaluating) / 1000;
  const validation: Record<string, number> =
    run.bestEpoch !== undefined ? { val_mae_mm: history.val_mae_mm[run.bestEpoch - 1 - startEpoch] } : {};
  return {
    model,
    history,
    metrics: { ...testMetricsOf(test, req.test.labelsMm), train_mae_mm: train.mae_mm, ...validation },
    testErrors: test,
    engine,
    evaluateSeconds,
    ...run,
  };
}

/**
 * Early stopping on a plateau of the validation MAE (Keras's EarlyStopping with restore_best_weights): keeps a copy of
 * the best epoch's weights, says stop once `patience` epochs in a row did not beat it. Without patience it never stops,
 * but still keeps the best epoch's weights.
 */
class PlateauWatch {
  private best = Infinity;
  private bestEpoch = -1;
  private weights: Tensor[] | undefined;
  constructor(
    private readonly tf: Tf,
    private readonly patience: number | undefined,
  ) {}

  stopAfter(epoch: number, valueMm: number, model: LayersModel): boolean {
    if (valueMm < this.best) {
      this.best = valueMm;
      this.bestEpoch = epoch;
      this.tf.dispose(this.weights ?? []);
      this.weights = model.getWeights().map((w) => w.clone());
      return false;
    }
    return this.patience !== undefined && epoch - this.bestEpoch >= this.patience;
  }

  /** Puts the best epoch's weights back into the model; its 1-based epoch, or undefined when nothing was watched. */
  restoreBest(model: LayersModel): number | undefined {
    if (!this.weights) return undefined;
    model.setWeights(this.weights);
    return this.bestEpoch + 1;
  }

  dispose() {
    this.tf.dispose(this.weights ?? []);
    this.weights = undefined;
  }
}

/** How a trial's epochs ran: a TensorFlow training graph, or tfjs's model.fit. */
export type TrainingEngine = 'graph' | 'fit';

interface FitOptions {
  epochs: number;
  initialEpoch: number;
  batchSize: number;
  /** Resolves true to stop after this epoch. */
  onEpochEnd: (epoch: number, logs: Record<string, number>) => Promise<boolean>;
}

/** Runs the epochs in a training graph when asked and possible, else with model.fit; says which ran. */
async function fitWithEngine(tf: Tf, model: LayersModel, req: TrainRequest, options: FitOptions): Promise<TrainingEngine> {
  const labels = scaledLabels(tf, req.train.labelsMm, req.labelMaxMm);
  if ((req.graph ?? true) && tf.getBackend() === 'tensorflow') {
    try {
      await fitInGraph(tf, model, req.train.pixels, labels, { ...options, seed: req.seed });
      return 'graph';
    } catch (err) {
      if (!(err instanceof UnsupportedModelError)) throw err;
      console.warn(`training with model.fit: ${err.message}`);
    }
  }
  const x = pixelsToTensor(tf, req.train.pixels, req.train.count, req.height, req.width);
  const y = tf.tensor2d(labels, [labels.length, 1]);
  try {
    await model.fit(x, y, {
      ...options,
      shuffle: true,
      verbose: 0,
      callbacks: {
        onEpochEnd: async (epoch, logs) => {
          const stop = await options.onEpochEnd(epoch, Object.fromEntries(Object.entries(logs ?? {}).map(([k, v]) => [k, Number(v)])));
          if (stop) model.stopTraining = true;
        },
      },
    });
  } finally {
    x.dispose();
    y.dispose();
  }
  return 'fit';
}
