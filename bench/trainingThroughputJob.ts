/**
 * Child-process entry: trains one architecture on one tfjs backend with the product's
 * model code (buildModel: Adam, MSE, MAE) and times it. Native runs whole epochs; pure JS
 * runs a few batches, since a full epoch of the thesis CNN would take hours.
 */
import { buildModel } from '../core/ml/architectures.js';
import type { LayersModel } from '@tensorflow/tfjs';
import { loadBackend, type Tf } from '../core/ml/backend.js';
import { fitInGraph } from '../core/ml/graphTraining.js';
import { labelsToTensor, pixelsToTensor, scaledLabels } from '../core/ml/train.js';
import { serveOneJob } from './forkJob.js';
import type { DatasetFiles } from './parkingFrames.js';
import { readTrainingSet } from './trainingSet.js';

export interface ThroughputJob {
  backend: 'tensorflow' | 'cpu';
  /** tfjs's model.fit, or the TensorFlow training graph trials use by default (core/ml/graphTraining.ts). */
  engine: 'fit' | 'graph';
  architecture: string;
  dataset: DatasetFiles;
  labelMaxMm: number;
  batchSize: number;
  /** Whole epochs over the dataset (the first is warm-up), or only this many batches. */
  run: { kind: 'epochs'; epochs: number } | { kind: 'batches'; batches: number };
  seed: number;
}

export interface ThroughputResult {
  engine: string;
  params: number;
  /** Images whose training time is counted in imagesPerSecond. */
  timedImages: number;
  imagesPerSecond: number;
  firstEpochSeconds?: number;
  epochSeconds: number[];
  batchSeconds: number[];
  finalLoss: number;
  peakRssMiB: number;
}

async function measure(job: ThroughputJob): Promise<ThroughputResult> {
  const { tf, name } = await loadBackend(job.backend);
  if (name !== job.backend) throw new Error(`asked for backend ${job.backend}, got ${name}`);
  const { width, height } = job.dataset;
  const count = job.run.kind === 'epochs' ? job.dataset.count : Math.min(job.dataset.count, job.run.batches * job.batchSize);
  const { pixels, labelsMm } = await readTrainingSet(job.dataset, count);

  const model = buildModel(tf, job.architecture, { width, height, dropout: 0.1, learningRate: 0.001, seed: job.seed });
  if (job.engine === 'graph') return measureGraph(tf, job, model, pixels, labelsMm);
  const x = pixelsToTensor(tf, pixels, count, height, width);
  const y = labelsToTensor(tf, labelsMm, job.labelMaxMm);
  const epochSeconds: number[] = [];
  const batchSeconds: number[] = [];
  let epochStart = 0;
  let batchStart = 0;
  let finalLoss = NaN;
  await model.fit(x, y, {
    epochs: job.run.kind === 'epochs' ? job.run.epochs : 1,
    batchSize: job.batchSize,
    shuffle: true,
    verbose: 0,
    callbacks: {
      onEpochBegin: async () => {
        epochStart = performance.now();
      },
      onEpochEnd: async (_epoch, logs) => {
        epochSeconds.push((performance.now() - epochStart) / 1000);
        finalLoss = Number(logs?.loss);
      },
      onBatchBegin: async () => {
        batchStart = performance.now();
      },
      onBatchEnd: async () => {
        batchSeconds.push((performance.now() - batchStart) / 1000);
      },
    },
  });
  const params = model.countParams();
  x.dispose();
  y.dispose();
  model.dispose();

  const result = {
    engine: name,
    params,
    epochSeconds,
    batchSeconds,
    finalLoss,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
  if (job.run.kind === 'epochs') {
    const steady = epochSeconds.slice(1);
    return {
      ...result,
      firstEpochSeconds: epochSeconds[0],
      timedImages: count * steady.length,
      imagesPerSecond: (count * steady.length) / sum(steady),
    };
  }
  return { ...result, timedImages: count, imagesPerSecond: count / sum(batchSeconds) };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Whole epochs in the training graph, timed from the call (the first epoch includes building and loading the graph). */
async function measureGraph(
  tf: Tf,
  job: ThroughputJob,
  model: LayersModel,
  pixels: Uint8Array,
  labelsMm: Float32Array,
): Promise<ThroughputResult> {
  if (job.run.kind !== 'epochs') throw new Error('the training graph is timed in whole epochs');
  const labels = scaledLabels(tf, labelsMm, job.labelMaxMm);
  const epochSeconds: number[] = [];
  let finalLoss = NaN;
  let epochStart = performance.now();
  await fitInGraph(tf, model, pixels, labels, {
    epochs: job.run.epochs,
    initialEpoch: 0,
    batchSize: job.batchSize,
    seed: job.seed,
    onEpochEnd: async (_epoch, logs) => {
      epochSeconds.push((performance.now() - epochStart) / 1000);
      finalLoss = logs.loss;
      epochStart = performance.now();
    },
  });
  const params = model.countParams();
  model.dispose();
  const steady = epochSeconds.slice(1);
  return {
    engine: 'tensorflow graph',
    params,
    epochSeconds,
    batchSeconds: [],
    finalLoss,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    firstEpochSeconds: epochSeconds[0],
    timedImages: labels.length * steady.length,
    imagesPerSecond: (labels.length * steady.length) / sum(steady),
  };
}

serveOneJob(measure);
