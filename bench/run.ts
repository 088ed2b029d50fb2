/**
 * `npm run bench`: training throughput (tfjs-node, pure JS, Keras), a full TrainAndRegister
 * of the thesis sweep, /predict latency under simulated rovers and peak memory of the API
 * and the worker. Prints markdown tables (progress goes to stderr) and writes them, with the
 * raw numbers, to bench/results/. Measures; asserts nothing about times.
 * Knobs: see bench/settings.ts (BENCH_QUICK=1 for a smoke run).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { recordParkingRuns, writeTrainingSet, type DatasetFiles } from './parkingFrames.js';
import { loadBenchSettings } from './settings.js';
import { benchmarkSystem, systemTables } from './systemBenchmark.js';
import { benchmarkTraining, trainingTable } from './trainingThroughput.js';

const settings = loadBenchSettings();
const startedAt = new Date();
const t0 = performance.now();
const log = (line: string) => console.error(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const sections: string[] = [];
const raw: Record<string, unknown> = { settings };
const emit = (section: string) => {
  sections.push(section);
  console.log(`${section}\n`);
};

function gitRevision(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${commit} + uncommitted changes` : commit;
  } catch {
    return 'unknown';
  }
}

const knobs = Object.entries(process.env)
  .filter(([key]) => /^(BENCH_|ML_|SWEEP_PARALLELISM$|TF_NUM_INTRAOP_THREADS$)/.test(key))
  .map(([key, value]) => `${key}=${value}`)
  .sort();
const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
const cpu = os.cpus();
emit(
  [
    `## Benchmarks ${startedAt.toISOString()}${settings.quick ? ' (BENCH_QUICK=1: smoke run, numbers not representative)' : ''}`,
    '',
    `- command: \`${[...knobs, 'npm run bench'].join(' ')}\``,
    `- machine: ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}; Node ${process.version}; revision ${gitRevision()}`,
    `- load average at start (1, 5, 15 min): ${loadAverage()}`,
    `- data: ${settings.frames} labelled frames from the edge simulator (beige-350 parking runs), ${Math.round(settings.testFraction * 100)} % held out as the sweep's test split`,
  ].join('\n'),
);

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-frames-'));
try {
  log(`rendering parking runs until ${settings.frames} frames carry a laser reading`);
  const recorded = await recordParkingRuns('beige-350', settings.frames);
  log(
    `${recorded.total} frames (${recorded.labelled} labelled) from ${recorded.runs.length} runs in ${recorded.renderSeconds.toFixed(1)} s`,
  );

  if (settings.parts.includes('training')) {
    const trainCount = settings.frames - Math.round(settings.frames * settings.testFraction);
    const datasets = new Map<string, DatasetFiles>();
    for (const target of settings.architectures)
      datasets.set(target.architecture, await writeTrainingSet(recorded, trainCount, target, workDir));
    const measurements = await benchmarkTraining(settings, datasets, log);
    raw.training = measurements;
    emit(
      [
        `### Training throughput (one process per row; ${trainCount} frames, the sweep's train split; Adam, MSE)`,
        '',
        trainingTable(measurements, settings.throughputBatchSize),
        '',
        'Pure JS trains the same model for a few batches only (a full epoch of the thesis CNN takes hours); its epoch time is extrapolated from them.',
        `TensorFlow's own thread default (every core) for tfjs-node and Keras${process.env.TF_NUM_INTRAOP_THREADS ? `, here TF_NUM_INTRAOP_THREADS=${process.env.TF_NUM_INTRAOP_THREADS}` : ''}; one job at a time.`,
      ].join('\n'),
    );
  }

  if (settings.parts.includes('stack')) {
    const system = await benchmarkSystem(settings, recorded, log);
    raw.system = system;
    const tables = systemTables(system, recorded.renderSeconds);
    const sweep = settings.sweep;
    emit([`### Collecting the frames (the dataset of the TrainAndRegister below)`, '', tables.ingest].join('\n'));
    emit(
      [
        `### TrainAndRegister: thesis sweep (thesis-inception at 100x75, batch ${sweep.batchSizes.join('/')} x dropout ${sweep.dropouts.join('/')}, ${settings.sweepEpochs} epoch${settings.sweepEpochs > 1 ? 's' : ''} each), real Temporal dev server`,
        '',
        tables.sweep,
        '',
        'Times from the run\'s Temporal history: "waited" is scheduled -> started (no free worker slot), "ran" is started -> completed.',
      ].join('\n'),
    );
    emit(
      [
        `### /predict with analysis on (thesis-inception v${system.sweep.result.registration.registered ? system.sweep.result.registration.version : '?'}; closed loop: each rover sends its next frame when the answer arrives)`,
        '',
        tables.predict,
        '',
        'Latency is measured by the rover client (multipart upload to parsed answer) on the same machine as the API.',
      ].join('\n'),
    );
    emit(
      ['### Peak memory of the API and the worker (high-water marks, so each column includes the ones before)', '', tables.memory].join(
        '\n',
      ),
    );
  }

  emit(`Total ${((performance.now() - t0) / 60_000).toFixed(1)} min; load average at the end (1, 5, 15 min): ${loadAverage()}.`);
  fs.mkdirSync(settings.resultsDir, { recursive: true });
  const base = path.join(settings.resultsDir, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}${settings.quick ? '-quick' : ''}`);
  fs.writeFileSync(`${base}.md`, `${sections.join('\n\n')}\n`);
  fs.writeFileSync(
    `${base}.json`,
    JSON.stringify(raw, (key, value) => (key === 'jpeg' ? undefined : value), 2),
  );
  log(`wrote ${base}.md and ${base}.json`);
} finally {
  fs.rmSync(workDir, { recursive: true, force: true });
}
