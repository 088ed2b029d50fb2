import { bandMetrics } from '../training/distanceBands.js';
import type { TrialParams } from '../training/sweep.js';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { buildModel } from './architectures.js';
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
  /** Train in a TensorFlow graph (core/ml/graphTraining.ts) where the backend and the model allow (the default); false: fit. */
  graph?: boolean;
  onEpochEnd?: (epoch: number, logs: Record<string, number>, model: LayersModel) => Promise<void>;
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

/** The absolute error (mm) of a model on every frame of a split, against its label clipped as the model learned it. */
export async function errorsMm(tf: Tf, model: LayersModel, split: Split, height: number, width: number, labelMaxMm: number) {
  const x = pixelsToTensor(tf, split.pixels, split.count, height, width);
  const clipped = tf.tidy(() => tf.tensor1d(split.labelsMm).clipByValue(0, labelMaxMm));
  try {
    const [predicted, labels] = [await predictMm(tf, model, x, labelMaxMm), (await clipped.data()) as Float32Array];
    return Float64Array.from(predicted, (p, i) => Math.abs(p - labels[i]));
  } finally {
    x.dispose();
    clipped.dispose();
  }
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
  // A checkpoint saved with its optimizer comes back compiled, Adam's state included.
  if (req.resume && !req.resume.model.optimizer)
    model.compile({ optimizer: tf.train.adam(params.learningRate), loss: 'meanSquaredError', metrics: ['mae'] });
  const history: Record<string, number[]> = {};
  const startEpoch = req.resume?.epochsDone ?? 0;
  const onEpochEnd = async (epoch: number, logs: Record<string, number>) => {
    for (const [k, v] of Object.entries(logs)) (history[k] ??= []).push(v);
    await req.onEpochEnd?.(epoch, logs, model);
  };
  let engine: TrainingEngine = 'fit';
  if (startEpoch < params.epochs) {
    const fitOptions = { epochs: params.epochs, initialEpoch: startEpoch, batchSize: params.batchSize };
    engine = await fitWithEngine(tf, model, req, { ...fitOptions, onEpochEnd });
  }
  const evaluating = performance.now();
  const test = await errorsMm(tf, model, req.test, height, width, labelMaxMm);
  const train = await evaluateMm(tf, model, req.train, height, width, labelMaxMm);
  const evaluateSeconds = (performance.now() - evaluating) / 1000;
  return {
    model,
    history,
    metrics: { ...testMetricsOf(test, req.test.labelsMm), train_mae_mm: train.mae_mm },
    testErrors: test,
    engine,
    evaluateSeconds,
  };
}

/** How a trial's epochs ran: a TensorFlow training graph, or tfjs's model.fit. */
export type TrainingEngine = 'graph' | 'fit';

interface FitOptions {
  epochs: number;
  initialEpoch: number;
  batchSize: number;
  onEpochEnd: (epoch: number, logs: Record<string, number>) => Promise<void>;
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
        onEpochEnd: async (epoch, logs) =>
          options.onEpochEnd(epoch, Object.fromEntries(Object.entries(logs ?? {}).map(([k, v]) => [k, Number(v)]))),
      },
    });
  } finally {
    x.dispose();
    y.dispose();
  }
  return 'fit';
}
