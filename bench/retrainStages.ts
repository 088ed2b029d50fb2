/**
 * A thesis-scale retrain by stage: labelled parking frames (edge simulator) are written straight into embedded stores
 * (SQLite + folder, as the rovers' /predict would have left them), then one TrainAndRegister of the demo's sweep runs
 * on a Temporal dev server with the system's workers in this process. Each stage's wall time comes from the run's
 * history; inside each trial's process, the trial reports its own stages (pack reads, epochs, checkpoints, evaluation,
 * model write).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../core/features/fields.js';
import { mapLimit } from '../core/mapLimit.js';
import { trainingCapacity } from '../core/ml/trainingCapacity.js';
import type { InferenceRecord } from '../core/stores/measurements.js';
import { openTempStores } from '../test/support/embeddedStores.js';
import { startTemporal } from '../test/support/temporalEnv.js';
import { createWorkers } from '../workers/createWorkers.js';
import type { TrainAndRegisterRequest, TrainAndRegisterResult } from '../workflows/trainAndRegister/contract.js';
import { TrainAndRegister } from '../workflows/trainAndRegister/workflow.js';
import { TASK_QUEUES } from '../workflows/shared.js';
import { duration, fixed, markdownTable } from './markdownTable.js';
import { recordParkingRuns, type RecordedFrames } from './parkingFrames.js';
import { workflowTimeline, type WorkflowTimeline } from './workflowSteps.js';

export interface RetrainStagesPlan {
  /** Labelled frames per measured retrain (80 % train, 20 % test). */
  frames: number[];
  epochs: number;
  seeds: number[];
  sweep: { batchSizes: number[]; dropouts: number[] };
  /** Training-config fields added to every run's request (the switches under test). */
  config: Partial<TrainAndRegisterRequest>;
  /** A second retrain on the same stores after `frames` labelled frames of `preset` arrived (drift), with its own extra config. */
  second?: { preset: string; frames: number; config: Partial<TrainAndRegisterRequest> };
}

export interface TrialRow {
  params: Record<string, unknown>;
  testMaeMm: number;
  ranSeconds?: number;
  epochsRun?: number;
  seconds?: Record<string, number>;
  warmStartedFrom?: string;
}

export interface RetrainStagesRun {
  /** Which retrain of the stores: the first, or the second after the drifted frames arrived. */
  retrain: 'first' | 'second';
  frames: number;
  seed: number;
  /** The version the run replaced, measured on the run's test set (second retrains). */
  previousTestMaeMm?: number;
  loadAverage: { start: number[]; end: number[] };
  setupSeconds: number;
  timeline: WorkflowTimeline;
  trials: TrialRow[];
  selected: { trialId: string; testMaeMm: number; params: Record<string, unknown> };
  trainCount: number;
  testCount: number;
}

const zeros = Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f) => [f, 0])) as ImageCharacteristics;
const DEPLOYMENT = 'retrain-bench';

export async function benchmarkRetrainStages(plan: RetrainStagesPlan, log: (line: string) => void): Promise<RetrainStagesRun[]> {
  const runs: RetrainStagesRun[] = [];
  const env = await startTemporal();
  try {
    for (const frames of plan.frames) {
      log(`retrain stages: rendering parking runs until ${frames} frames carry a laser reading`);
      const recorded = await recordParkingRuns('beige-350', frames);
      for (const seed of plan.seeds) runs.push(...(await measureRetrain(env, plan, recorded, seed, log)));
    }
  } finally {
    await env.teardown();
  }
  return runs;
}

async function measureRetrain(
  env: Awaited<ReturnType<typeof startTemporal>>,
  plan: RetrainStagesPlan,
  recorded: RecordedFrames,
  seed: number,
  log: (line: string) => void,
): Promise<RetrainStagesRun[]> {
  const t = await openTempStores();
  try {
    const setupSeconds = await storeFrames(t, recorded, 'features/first');
    log(
      `retrain stages: ${recorded.labelled} labelled records and JPEGs stored in ${setupSeconds.toFixed(0)} s; retrain with seed ${seed}`,
    );
    const workers = await createWorkers({
      connection: env.nativeConnection,
      namespace: 'default',
      context: { stores: t.stores, objectsUrl: t.urls.objectsUrl, mlBackend: 'auto' },
      capacity: trainingCapacity(),
    });
    const running = Promise.all(workers.map((w) => w.run()));
    try {
      const runs = [await retrain(env, plan, plan.config, 'first', seed, setupSeconds, log)];
      if (plan.second) {
        log(`retrain stages: rendering ${plan.second.frames} labelled ${plan.second.preset} frames for the second retrain`);
        const drifted = await recordParkingRuns(plan.second.preset, plan.second.frames, seed + 1000);
        const more = await storeFrames(t, drifted, 'features/second');
        runs.push(await retrain(env, plan, { ...plan.config, ...plan.second.config }, 'second', seed, more, log));
      }
      return runs;
    } finally {
      workers.forEach((w) => w.shutdown());
      await running;
    }
  } finally {
    await t.cleanup();
  }
}

/** The labelled frames as the API leaves them: a record each and its JPEG. Seconds taken. */
async function storeFrames(t: Awaited<ReturnType<typeof openTempStores>>, recorded: RecordedFrames, prefix: string): Promise<number> {
  const started = performance.now();
  const labelled = recorded.runs.flatMap((run) => run.frames.filter((f) => f.sensorMm !== null));
  const t0 = Date.now() - labelled.length * 250;
  const records: InferenceRecord[] = labelled.map((frame, i) => ({
    time: t0 + i * 250,
    deployment: DEPLOYMENT,
    client: 'bench-rover',
    modelName: null,
    modelVersion: null,
    prediction: null,
    sensorValue: frame.sensorMm,
    error: null,
    latencyMs: 1,
    // The same key for the same frame in every run: the train/test split (a hash of the key) is the same for runs compared.
    imageKey: `${prefix}/${DEPLOYMENT}/${i}.jpg`,
    characteristics: zeros,
  }));
  await mapLimit(records, 16, (r, i) => t.stores.objects.put(r.imageKey, labelled[i].jpeg, 'image/jpeg'));
  for (let i = 0; i < records.length; i += 5000) await t.stores.measurements.write(records.slice(i, i + 5000));
  return (performance.now() - started) / 1000;
}

async function retrain(
  env: Awaited<ReturnType<typeof startTemporal>>,
  plan: RetrainStagesPlan,
  config: Partial<TrainAndRegisterRequest>,
  which: 'first' | 'second',
  seed: number,
  setupSeconds: number,
  log: (line: string) => void,
): Promise<RetrainStagesRun> {
  const loadStart = os.loadavg();
  const handle = await env.client.workflow.start(TrainAndRegister, {
    taskQueue: TASK_QUEUES.orchestration,
    workflowId: `retrain-bench-${randomUUID()}`,
    args: [
      {
        modelName: 'retrain-bench',
        deployments: [DEPLOYMENT],
        trigger: { kind: 'manual', by: 'bench' },
        architecture: 'thesis-inception',
        width: 100,
        height: 75,
        seed,
        sweep: { epochs: [plan.epochs], ...plan.sweep },
        registerPolicy: 'always',
        ...config,
      },
    ],
  });
  const result = (await handle.result()) as TrainAndRegisterResult;
  const timeline = workflowTimeline(await handle.fetchHistory());
  const trialSteps = timeline.steps.filter((s) => s.activity === 'trainTrial' && s.outcome === 'completed');
  const trials: TrialRow[] = result.trials.map((trial, i) => {
    const steps = trialSteps.filter((s) => (s.input as { trialIndex?: number })?.trialIndex === i);
    const extra = trial as unknown as {
      seconds?: Record<string, number>;
      epochsRun?: number;
      resumedFromEpoch?: number;
      warmStartedFrom?: string;
    };
    return {
      params: trial.params as unknown as Record<string, unknown>,
      testMaeMm: trial.metrics.test_mae_mm,
      ranSeconds: steps.reduce((sum, s) => sum + ((s.closedAt ?? NaN) - (s.startedAt ?? NaN)) / 1000, 0),
      // A trial halving trained on ran twice: it resumed from the first job's checkpoint.
      epochsRun: extra.epochsRun === undefined ? undefined : extra.epochsRun + (extra.resumedFromEpoch ?? 0),
      seconds: extra.seconds,
      warmStartedFrom: extra.warmStartedFrom,
    };
  });
  const best = result.selection.best;
  const run: RetrainStagesRun = {
    retrain: which,
    frames: result.dataset.recordCount,
    seed,
    previousTestMaeMm: (result as unknown as { registration: { comparison?: { metrics?: Record<string, number> } | null } }).registration
      .comparison?.metrics?.test_mae_mm,
    loadAverage: { start: loadStart, end: os.loadavg() },
    setupSeconds,
    timeline,
    trials,
    selected: { trialId: best.trialId, testMaeMm: best.metrics.test_mae_mm, params: best.params as unknown as Record<string, unknown> },
    trainCount: result.dataset.trainCount,
    testCount: result.dataset.testCount,
  };
  log(`retrain stages: ${JSON.stringify({ ...run, timeline: undefined, config })}`);
  return run;
}

const STAGES: [string, string][] = [
  ['assembleDataset', 'assembly (records list)'],
  ['preprocess', 'preprocess (JPEG -> packs, split)'],
  ['describeTrainingCapacity', 'training capacity'],
  ['selectBest', 'selection'],
  ['evaluatePrevious', 'previous version on the test set'],
  ['registerModelVersion', 'registration'],
  ['buildReferenceProfile', 'reference profile'],
  ['startRollouts', 'rollouts started'],
];

const ranSeconds = (timeline: WorkflowTimeline, activity: string): number | undefined => {
  const steps = timeline.steps.filter((s) => s.activity === activity && s.closedAt !== undefined && s.startedAt !== undefined);
  return steps.length ? steps.reduce((sum, s) => sum + (s.closedAt! - s.startedAt!) / 1000, 0) : undefined;
};

/** One column per run: each stage's wall time, the sweep's, the trials' inner stages summed, the selected trial's error. */
export function retrainStagesTable(runs: RetrainStagesRun[]): string {
  const columns = runs.map((r) => `${r.retrain === 'second' ? 'second retrain, ' : ''}${r.frames} frames, seed ${r.seed}`);
  const rows: string[][] = [];
  const row = (label: string, cell: (r: RetrainStagesRun) => string) => rows.push([label, ...runs.map(cell)]);
  row('split (train / test)', (r) => `${r.trainCount} / ${r.testCount}`);
  for (const [activity, label] of STAGES.slice(0, 2)) row(label, (r) => duration(ranSeconds(r.timeline, activity)));
  row('sweep (first trial scheduled -> last closed)', (r) => {
    const trials = r.timeline.steps.filter((s) => s.activity === 'trainTrial');
    if (!trials.length) return '-';
    return duration((Math.max(...trials.map((s) => s.closedAt ?? NaN)) - Math.min(...trials.map((s) => s.scheduledAt))) / 1000);
  });
  row('  trial activities (sum of their run times)', (r) => duration(ranSeconds(r.timeline, 'trainTrial')));
  for (const [key, label] of [
    ['read', '  in trials (last job of each): backend load + pack reads'],
    ['epochs', '  in trials (last job of each): epochs'],
    ['checkpoints', '  in trials (last job of each): checkpoints'],
    ['evaluate', '  in trials (last job of each): evaluation (test + train)'],
    ['save', '  in trials (last job of each): model write'],
  ] as const)
    row(label, (r) =>
      r.trials.some((t) => t.seconds?.[key] !== undefined) ? duration(r.trials.reduce((sum, t) => sum + (t.seconds?.[key] ?? 0), 0)) : '-',
    );
  row('  trials warm started', (r) => `${r.trials.filter((t) => t.warmStartedFrom).length} of ${r.trials.length}`);
  row('  epochs each trial trained', (r) => r.trials.map((t) => String(t.epochsRun ?? t.params.epochs)).join(' / '));
  for (const [activity, label] of STAGES.slice(2)) row(label, (r) => duration(ranSeconds(r.timeline, activity)));
  row('**workflow total**', (r) => `**${duration((r.timeline.totalMs ?? NaN) / 1000)}**`);
  row(
    'selected trial: test MAE',
    (r) => `${fixed(r.selected.testMaeMm, 2)} mm (batch ${r.selected.params.batchSize}, dropout ${r.selected.params.dropout})`,
  );
  if (runs.some((r) => r.previousTestMaeMm !== undefined))
    row('version it replaced: test MAE on the same test set', (r) =>
      r.previousTestMaeMm === undefined ? '-' : `${fixed(r.previousTestMaeMm, 2)} mm`,
    );
  row('every trial: test MAE (mm)', (r) => r.trials.map((t) => fixed(t.testMaeMm, 2)).join(' / '));
  row('load average at start / end', (r) => `${fixed(r.loadAverage.start[0], 2)} / ${fixed(r.loadAverage.end[0], 2)}`);
  return markdownTable(['stage', ...columns], rows);
}
