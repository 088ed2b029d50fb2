/**
 * Child-process entry: trains one architecture with the product's trainModel on one engine (the TensorFlow
 * training graph or tfjs's model.fit) and measures the model on held-out frames, so the engines' final errors
 * can be compared (the graph must be as accurate, not only faster).
 */
import { loadBackend } from '../core/ml/backend.js';
import { trainModel } from '../core/ml/train.js';
import type { TrialParams } from '../core/training/sweep.js';
import { serveOneJob } from './forkJob.js';
import type { DatasetFiles } from './parkingFrames.js';
import { readTrainingSet } from './trainingSet.js';

export interface TrainingErrorJob {
  engine: 'graph' | 'fit';
  architecture: string;
  train: DatasetFiles;
  test: DatasetFiles;
  labelMaxMm: number;
  params: TrialParams;
  seed: number;
}

export interface TrainingErrorResult {
  engine: string;
  testMaeMm: number;
  trainMaeMm: number;
  seconds: number;
  peakRssMiB: number;
}

async function measure(job: TrainingErrorJob): Promise<TrainingErrorResult> {
  const { tf } = await loadBackend('tensorflow');
  const [train, test] = await Promise.all([readTrainingSet(job.train), readTrainingSet(job.test)]);
  const started = performance.now();
  const result = await trainModel(tf, {
    architecture: job.architecture,
    width: job.train.width,
    height: job.train.height,
    labelMaxMm: job.labelMaxMm,
    params: job.params,
    train,
    test,
    seed: job.seed,
    graph: job.engine === 'graph',
  });
  const seconds = (performance.now() - started) / 1000;
  result.model.dispose();
  if (result.engine !== job.engine) throw new Error(`asked for ${job.engine}, trained with ${result.engine}`);
  return {
    engine: result.engine,
    testMaeMm: result.metrics.test_mae_mm,
    trainMaeMm: result.metrics.train_mae_mm,
    seconds,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

serveOneJob(measure);
