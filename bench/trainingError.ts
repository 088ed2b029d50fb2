/**
 * Final test error of the training graph beside model.fit: the same trainModel call, architecture, frames,
 * hyperparameters and seeds, one process per run; errors in mm on frames neither engine trained on.
 */
import { fileURLToPath } from 'node:url';
import { runInChildProcess } from './forkJob.js';
import { duration, fixed, markdownTable } from './markdownTable.js';
import type { DatasetFiles } from './parkingFrames.js';
import type { ArchitectureUnderTest, BenchSettings } from './settings.js';
import type { TrainingErrorJob, TrainingErrorResult } from './trainingErrorJob.js';
import { LABEL_MAX_MM } from './trainingThroughput.js';

const jobEntry = fileURLToPath(new URL('./trainingErrorJob.ts', import.meta.url));

export interface TrainingErrorMeasurement {
  target: ArchitectureUnderTest;
  engine: TrainingErrorJob['engine'];
  seed: number;
  result: TrainingErrorResult;
}

export const ERROR_SEEDS = [1, 2];

export async function benchmarkTrainingError(
  settings: BenchSettings,
  sets: Map<string, { train: DatasetFiles; test: DatasetFiles }>,
  log: (line: string) => void,
): Promise<TrainingErrorMeasurement[]> {
  const measurements: TrainingErrorMeasurement[] = [];
  const params = { epochs: settings.sweepEpochs, batchSize: settings.throughputBatchSize, dropout: 0.1, learningRate: 0.001 };
  for (const target of settings.architectures) {
    const { train, test } = sets.get(target.architecture)!;
    for (const seed of ERROR_SEEDS.slice(0, settings.quick ? 1 : ERROR_SEEDS.length))
      for (const engine of ['graph', 'fit'] as const) {
        log(`training error: ${target.architecture}, ${engine}, seed ${seed}, ${params.epochs} epochs of ${train.count} frames`);
        const job: TrainingErrorJob = { engine, architecture: target.architecture, train, test, labelMaxMm: LABEL_MAX_MM, params, seed };
        measurements.push({ target, engine, seed, result: await runInChildProcess<TrainingErrorResult>(jobEntry, job) });
      }
  }
  return measurements;
}

export function trainingErrorTable(measurements: TrainingErrorMeasurement[]): string {
  const rows = measurements.map((m) => [
    m.target.architecture,
    m.engine === 'graph' ? 'training graph' : 'model.fit',
    String(m.seed),
    fixed(m.result.testMaeMm, 2),
    fixed(m.result.trainMaeMm, 2),
    duration(m.result.seconds),
  ]);
  return markdownTable(['architecture', 'engine', 'seed', 'test MAE (mm)', 'train MAE (mm)', 'trainModel time'], rows);
}
