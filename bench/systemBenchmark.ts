/**
 * The system benchmarks on one running stack (Temporal dev server, workers, API, embedded
 * stores in a temp DATA_DIR): collect frames, a full TrainAndRegister of the thesis sweep,
 * then /predict under load with the model it registered; peak memory of every process
 * is recorded after each phase.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { apiClient } from '../scripts/apiClient.js';
import { markdownTable, mib } from './markdownTable.js';
import type { RecordedFrames } from './parkingFrames.js';
import { benchmarkPredict, predictTable, type PredictLevel } from './predictLatency.js';
import { ProcessMemorySampler, type MemoryPeaks } from './processMemory.js';
import type { BenchSettings } from './settings.js';
import { ADMIN_TOKEN, startStack } from './stack.js';
import { ingestFrames, ingestTable, runThesisSweep, sweepTable, type IngestOutcome, type SweepRun } from './trainAndRegisterRun.js';

type Phase = 'collect' | 'train' | 'predict';

export interface SystemResults {
  ingest: IngestOutcome;
  sweep: SweepRun;
  predict: PredictLevel[];
  memory: Partial<Record<Phase, Record<string, MemoryPeaks>>>;
}

export async function benchmarkSystem(
  settings: BenchSettings,
  recorded: RecordedFrames,
  log: (line: string) => void,
): Promise<SystemResults> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-'));
  log(`system: starting Temporal dev server, workers and API (DATA_DIR ${dataDir})`);
  const stack = await startStack(dataDir);
  const sampler = new ProcessMemorySampler();
  sampler.watch('api', stack.pids.api);
  sampler.watch('workers', stack.pids.workers, /mlJobProcess/);
  sampler.watch('temporal', stack.pids.temporal);
  const admin = apiClient(stack.apiUrl, ADMIN_TOKEN);
  const modelName = `bench-${Date.now().toString(36)}`;
  const memory: SystemResults['memory'] = {};
  let failed = false;
  try {
    log(`system: ${recorded.total} frames from ${recorded.runs.length} parking runs -> /predict`);
    const ingest = await ingestFrames(admin, stack.apiUrl, modelName, recorded);
    memory.collect = await sampler.peaks();

    log(`system: TrainAndRegister, thesis sweep, ${settings.sweepEpochs} epoch(s) per trial`);
    const sweep = await runThesisSweep(admin, stack.temporalAddress, modelName, ingest.deployment, settings, log);
    memory.train = await sampler.peaks();

    const frames = recorded.runs.flatMap((run) => run.frames);
    const predict = await benchmarkPredict(admin, stack.apiUrl, modelName, frames, settings, log);
    memory.predict = await sampler.peaks();
    return { ingest, sweep, predict, memory };
  } catch (err) {
    failed = true;
    const tails = (['api', 'workers'] as const).map((name) => `--- ${name} log (${dataDir}/logs) ---\n${stack.logTail(name)}`).join('\n');
    throw new Error(`${(err as Error).message}\n${tails}`, { cause: err });
  } finally {
    sampler.stop();
    await stack.close();
    if (!failed) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export function systemTables(results: SystemResults, renderSeconds: number) {
  const { memory } = results;
  const phases: [Phase, string][] = [
    ['collect', 'after collecting'],
    ['train', 'after TrainAndRegister'],
    ['predict', 'after /predict load'],
  ];
  const row = (label: string, pick: (p: Record<string, MemoryPeaks>) => number | undefined) => [
    label,
    ...phases.map(([phase]) => (memory[phase] ? mib(pick(memory[phase]!)) : '-')),
  ];
  const memoryTable = markdownTable(
    ['process (peak resident memory)', ...phases.map(([, label]) => label)],
    [
      row('API (VmHWM)', (p) => p.api.processMiB),
      row('worker process (VmHWM)', (p) => p.workers.processMiB),
      row('largest ML job process forked by the worker (VmHWM)', (p) => p.workers.largestDescendantMiB || undefined),
      row('worker + its child processes at once (sum of RSS, sampled every 200 ms)', (p) => p.workers.treeMiB),
      row('Temporal dev server (VmHWM)', (p) => p.temporal.processMiB),
    ],
  );
  return {
    ingest: ingestTable(results.ingest, renderSeconds),
    sweep: sweepTable(results.sweep),
    predict: predictTable(results.predict),
    memory: memoryTable,
  };
}
