/**
 * Child-process entry: where one training step's time goes, per engine, on the first batch of the bench's frames.
 * model.fit's step (trainOnBatch: the same forward, gradients and Adam) with every native TensorFlow op call of
 * tfjs-node's backend timed (N-API included): the step's wall time minus their sum is JavaScript (tfjs's engine,
 * layers, tape, optimizer, tensor bookkeeping). The training graph's step is one session call: its wall and CPU time.
 */
import { buildModel } from '../core/ml/architectures.js';
import { loadBackend } from '../core/ml/backend.js';
import { compileForTraining } from '../core/ml/graphTraining.js';
import { pixelsToTensor, scaledLabels } from '../core/ml/train.js';
import { serveOneJob } from './forkJob.js';
import type { DatasetFiles } from './parkingFrames.js';
import { readTrainingSet } from './trainingSet.js';

export interface TrainingProfileJob {
  architecture: string;
  dataset: DatasetFiles;
  labelMaxMm: number;
  batchSize: number;
  steps: number;
}

export interface TrainingProfileResult {
  fit: { wallMs: number; kernelMs: number; kernelCalls: number; byKernel: { name: string; ms: number; calls: number }[] };
  graph: { wallMs: number; cpuMs: number };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function measure(job: TrainingProfileJob): Promise<TrainingProfileResult> {
  const { tf } = await loadBackend('tensorflow');
  const { width, height } = job.dataset;
  const count = job.batchSize;
  const { pixels, labelsMm } = await readTrainingSet(job.dataset, count);
  const labels = scaledLabels(tf, labelsMm, job.labelMaxMm);
  const build = () => buildModel(tf, job.architecture, { width, height, dropout: 0.1, learningRate: 0.001, seed: 1 });

  const model = build();
  const x = pixelsToTensor(tf, pixels, count, height, width);
  const y = tf.tensor2d(labels, [count, 1]);
  for (let i = 0; i < 3; i++) await model.trainOnBatch(x, y);
  const totals = new Map<string, { ms: number; calls: number }>();
  const backend = tf.backend() as unknown as Record<string, (name: string, ...rest: unknown[]) => unknown>;
  for (const method of ['executeSingleOutput', 'executeMultipleOutputs']) {
    const call = backend[method].bind(backend);
    backend[method] = (name, ...rest) => {
      const started = performance.now();
      try {
        return call(name, ...rest);
      } finally {
        const total = totals.get(name) ?? { ms: 0, calls: 0 };
        totals.set(name, { ms: total.ms + performance.now() - started, calls: total.calls + 1 });
      }
    };
  }
  const walls: number[] = [];
  for (let i = 0; i < job.steps; i++) {
    const started = performance.now();
    await model.trainOnBatch(x, y);
    walls.push(performance.now() - started);
  }
  const kernelMs = [...totals.values()].reduce((sum, t) => sum + t.ms, 0);
  const kernelCalls = [...totals.values()].reduce((sum, t) => sum + t.calls, 0);
  tf.dispose([x, y]);
  model.dispose();
  const byKernel = [...totals.entries()]
    .map(([name, t]) => ({ name, ms: t.ms / job.steps, calls: t.calls / job.steps }))
    .sort((a, b) => b.ms - a.ms);

  const graphModel = build();
  const trainer = await compileForTraining(tf, graphModel, 1);
  trainer.load(pixels, labels);
  const indices = Int32Array.from({ length: count }, (_, i) => i);
  const step = () => {
    const { loss, mae } = trainer.step(indices);
    loss.dataSync();
    tf.dispose([loss, mae]);
  };
  for (let i = 0; i < 3; i++) step();
  const graphWalls: number[] = [];
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < job.steps; i++) {
    const started = performance.now();
    step();
    graphWalls.push(performance.now() - started);
  }
  const cpu = process.cpuUsage(cpuStart);
  trainer.dispose();
  graphModel.dispose();
  return {
    fit: { wallMs: median(walls), kernelMs: kernelMs / job.steps, kernelCalls: kernelCalls / job.steps, byKernel },
    graph: { wallMs: median(graphWalls), cpuMs: (cpu.user + cpu.system) / 1000 / job.steps },
  };
}

serveOneJob(measure);
