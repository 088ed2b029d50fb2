/** Where a training step's time goes, per architecture: model.fit's kernels and its JavaScript, and the graph's one call. */
import { fileURLToPath } from 'node:url';
import { runInChildProcess } from './forkJob.js';
import { fixed, markdownTable } from './markdownTable.js';
import type { DatasetFiles } from './parkingFrames.js';
import type { ArchitectureUnderTest, BenchSettings } from './settings.js';
import { LABEL_MAX_MM, type TrainingMeasurement } from './trainingThroughput.js';
import type { TrainingProfileJob, TrainingProfileResult } from './trainingProfileJob.js';

const jobEntry = fileURLToPath(new URL('./trainingProfileJob.ts', import.meta.url));
const STEPS = 10;
const TOP_KERNELS = 6;

export interface TrainingProfile {
  target: ArchitectureUnderTest;
  result: TrainingProfileResult;
}

export async function profileTraining(settings: BenchSettings, datasets: Map<string, DatasetFiles>, log: (line: string) => void) {
  const profiles: TrainingProfile[] = [];
  for (const target of settings.architectures) {
    log(`training profile: ${target.architecture}, ${STEPS} steps of batch ${settings.throughputBatchSize} per engine`);
    const job: TrainingProfileJob = {
      architecture: target.architecture,
      dataset: datasets.get(target.architecture)!,
      labelMaxMm: LABEL_MAX_MM,
      batchSize: settings.throughputBatchSize,
      steps: STEPS,
    };
    profiles.push({ target, result: await runInChildProcess<TrainingProfileResult>(jobEntry, job) });
  }
  return profiles;
}

export function trainingProfileTable(profiles: TrainingProfile[], throughput: TrainingMeasurement[], batchSize: number): string {
  const rows = profiles.map(({ target, result }) => {
    const keras = throughput.find((m) => m.engine === 'keras' && m.target === target);
    const { fit, graph } = result;
    const top = fit.byKernel
      .slice(0, TOP_KERNELS)
      .map((k) => `${k.name} ${fixed(k.ms, 1)} (${fixed(k.calls, 0)})`)
      .join(', ');
    return [
      target.architecture,
      fixed(fit.wallMs, 1),
      `${fixed(fit.kernelMs, 1)} in ${fixed(fit.kernelCalls, 0)} calls`,
      `${fixed(fit.wallMs - fit.kernelMs, 1)} (${fixed((100 * (fit.wallMs - fit.kernelMs)) / fit.wallMs, 0)} %)`,
      top,
      `${fixed(graph.wallMs, 1)} (CPU ${fixed(graph.cpuMs, 1)})`,
      keras ? fixed((1000 * batchSize) / keras.result.imagesPerSecond, 1) : '-',
    ];
  });
  return markdownTable(
    [
      'architecture',
      'model.fit step, wall ms (median)',
      'of it in native op calls, ms',
      'JavaScript (the rest), ms',
      'top ops: ms per step (calls)',
      'training graph step, wall ms (median)',
      'Keras step, ms (its epoch time / batches)',
    ],
    rows,
  );
}
