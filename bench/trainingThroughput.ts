/**
 * Training throughput, side by side: each architecture on native TensorFlow (tfjs-node),
 * on pure JS tfjs, and in Keras on the same TensorFlow wheel; each in its own process.
 */
import { fileURLToPath } from 'node:url';
import { runInChildProcess } from './forkJob.js';
import { ensureKerasVenv, trainWithKeras } from './kerasReference.js';
import { duration, fixed, markdownTable, mib } from './markdownTable.js';
import type { DatasetFiles } from './parkingFrames.js';
import type { ArchitectureUnderTest, BenchSettings } from './settings.js';
import type { ThroughputJob, ThroughputResult } from './trainingThroughputJob.js';

const jobEntry = fileURLToPath(new URL('./trainingThroughputJob.ts', import.meta.url));
/** The label range every training benchmark scales to. */
export const LABEL_MAX_MM = 350;
const SEED = 42;

export interface TrainingMeasurement {
  target: ArchitectureUnderTest;
  engine: 'tfjs-node-graph' | 'tfjs-node' | 'tfjs-cpu' | 'keras';
  /** What was timed, in words. */
  timed: string;
  datasetCount: number;
  result: ThroughputResult;
}

export async function benchmarkTraining(
  settings: BenchSettings,
  datasets: Map<string, DatasetFiles>,
  log: (line: string) => void,
): Promise<TrainingMeasurement[]> {
  await ensureKerasVenv();
  const measurements: TrainingMeasurement[] = [];
  for (const target of settings.architectures) {
    const dataset = datasets.get(target.architecture)!;
    const base = { architecture: target.architecture, dataset, labelMaxMm: LABEL_MAX_MM, seed: SEED };
    const epochs = settings.throughputEpochs;
    const epochsTimed = `${epochs - 1} epoch${epochs > 2 ? 's' : ''} of ${dataset.count} after 1 warm-up`;

    for (const [engine, name, how] of [
      ['graph', 'tfjs-node-graph', 'in the TensorFlow training graph'],
      ['fit', 'tfjs-node', 'on tfjs-node with model.fit'],
    ] as const) {
      log(`training: ${target.architecture} ${how}, ${epochs} epochs of ${dataset.count} frames`);
      const result = await runInChildProcess<ThroughputResult>(jobEntry, {
        ...base,
        backend: 'tensorflow',
        engine,
        batchSize: settings.throughputBatchSize,
        run: { kind: 'epochs', epochs },
      } satisfies ThroughputJob);
      measurements.push({ target, engine: name, timed: epochsTimed, datasetCount: dataset.count, result });
    }

    log(`training: ${target.architecture} on pure JS tfjs, ${settings.jsBatches} batch(es) of ${settings.jsBatchSize}`);
    const js = await runInChildProcess<ThroughputResult>(jobEntry, {
      ...base,
      backend: 'cpu',
      engine: 'fit',
      batchSize: settings.jsBatchSize,
      run: { kind: 'batches', batches: settings.jsBatches },
    } satisfies ThroughputJob);
    measurements.push({
      target,
      engine: 'tfjs-cpu',
      timed: `${settings.jsBatches} batch${settings.jsBatches > 1 ? 'es' : ''} of ${settings.jsBatchSize} (epoch extrapolated)`,
      datasetCount: dataset.count,
      result: js,
    });

    log(`training: ${target.architecture} in Keras, ${epochs} epochs of ${dataset.count} frames`);
    const keras = await trainWithKeras({ ...base, batchSize: settings.throughputBatchSize, epochs });
    measurements.push({ target, engine: 'keras', timed: epochsTimed, datasetCount: dataset.count, result: keras });
  }
  return measurements;
}

const ENGINE_NAMES: Record<TrainingMeasurement['engine'], string> = {
  'tfjs-node-graph': 'tfjs-node, training graph (TF 2.9.1 session; the default)',
  'tfjs-node': 'tfjs-node, model.fit (native TF 2.9.1 eager ops; before)',
  'tfjs-cpu': 'tfjs pure JS (cpu backend)',
  keras: 'Keras 2.9 (TF 2.9.1, Python 3.10)',
};

export function trainingTable(measurements: TrainingMeasurement[], batchSize: number): string {
  const rows = measurements.map((m) => {
    const keras = measurements.find((k) => k.engine === 'keras' && k.target === m.target);
    const epochSeconds = m.datasetCount / m.result.imagesPerSecond;
    return [
      m.target.architecture,
      `${m.target.width}x${m.target.height}`,
      // The Keras port must be the same network: a different count is shown, not hidden.
      m.result.params.toLocaleString('en-US') +
        (keras && keras.result.params !== m.result.params ? ` (Keras port: ${keras.result.params.toLocaleString('en-US')}!)` : ''),
      ENGINE_NAMES[m.engine],
      m.timed,
      fixed(m.result.imagesPerSecond, m.result.imagesPerSecond < 10 ? 2 : 0),
      `${duration(epochSeconds)}${m.engine === 'tfjs-cpu' ? ' (est.)' : ''}`,
      duration(m.result.firstEpochSeconds),
      keras ? `${(m.result.imagesPerSecond / keras.result.imagesPerSecond).toFixed(m.engine === 'tfjs-cpu' ? 4 : 2)}x` : '-',
      mib(m.result.peakRssMiB),
    ];
  });
  return markdownTable(
    [
      'architecture',
      'input',
      'params',
      'engine',
      `timed (batch ${batchSize} unless said)`,
      'images/s',
      'time per epoch',
      'first epoch (warm-up)',
      'vs Keras',
      'peak RSS',
    ],
    rows,
  );
}
