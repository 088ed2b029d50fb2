/**
 * A full TrainAndRegister of the thesis sweep, driven as an engineer would: rovers send the
 * frames through /predict (no model yet: each is recorded and answered 503 no_model), the
 * training config is set and a retrain is asked for over HTTP, and the wall time per step
 * is read from the run's Temporal history.
 */
import { Client, Connection } from '@temporalio/client';
import type { TrainAndRegisterResult } from '../workflows/trainAndRegister/contract.js';
import { startedRun, waitForRecords, type ApiCall } from '../scripts/apiClient.js';
import { duration, fixed, markdownTable } from './markdownTable.js';
import type { RecordedFrames } from './parkingFrames.js';
import { replayFrames, type RoverIdentity } from './roverReplay.js';
import type { BenchSettings } from './settings.js';
import { workflowTimeline, type WorkflowTimeline } from './workflowSteps.js';

export interface IngestOutcome {
  deployment: string;
  frames: number;
  labelled: number;
  errors: Record<string, number>;
  wallSeconds: number;
  drainSeconds: number;
}

export async function createRovers(admin: ApiCall, prefix: string, count: number, deploymentId: string): Promise<RoverIdentity[]> {
  const rovers: RoverIdentity[] = [];
  for (let i = 1; i <= count; i++) {
    const clientId = `${prefix}-${i}`;
    const { token } = await admin('POST', '/clients', { id: clientId, name: `bench rover ${i}`, deploymentId });
    rovers.push({ clientId, token });
  }
  return rovers;
}

/** Four rovers send every recorded frame once; resolves when every frame is stored. */
export async function ingestFrames(admin: ApiCall, apiUrl: string, modelName: string, recorded: RecordedFrames): Promise<IngestOutcome> {
  const deployment = `${modelName}-collect`;
  await admin('POST', '/deployments', { id: deployment, modelName, modelVersion: 'latest' });
  const rovers = await createRovers(admin, `${modelName}-collector`, 4, deployment);
  const frames = recorded.runs.flatMap((run) => run.frames);
  const outcome = await replayFrames({ apiUrl, rovers, frames, requests: frames.length });
  const unexpected = Object.keys(outcome.errors).filter((code) => code !== 'no_model');
  if (unexpected.length) throw new Error(`ingest: rovers saw errors ${JSON.stringify(outcome.errors)}`);
  const drained = await waitForRecords(admin, deployment, frames.length);
  return {
    deployment,
    frames: frames.length,
    labelled: recorded.labelled,
    errors: outcome.errors,
    wallSeconds: outcome.wallSeconds,
    drainSeconds: drained.seconds,
  };
}

export interface SweepRun {
  workflowId: string;
  runId: string;
  /** From the retrain request to the API reporting the run COMPLETED. */
  clientSeconds: number;
  timeline: WorkflowTimeline;
  result: TrainAndRegisterResult;
}

export async function runThesisSweep(
  admin: ApiCall,
  temporalAddress: string,
  modelName: string,
  deployment: string,
  settings: BenchSettings,
  log: (line: string) => void,
): Promise<SweepRun> {
  const thesis = settings.architectures.find((a) => a.architecture === 'thesis-inception')!;
  await admin('PUT', `/models/${modelName}/training-config`, {
    deployments: [deployment],
    architecture: thesis.architecture,
    width: thesis.width,
    height: thesis.height,
    testFraction: settings.testFraction,
    sweep: { epochs: [settings.sweepEpochs], ...settings.sweep },
    registerPolicy: 'always',
  });
  const started = performance.now();
  const ask = startedRun(await admin('POST', `/models/${modelName}/retrain`, { by: 'bench' }));
  let lastProgress = '';
  let run;
  for (;;) {
    run = await admin('GET', `/workflows/${ask.workflowId}/runs/${ask.runId}`);
    if (run.status !== 'RUNNING') break;
    const progress = JSON.stringify(run.progress ?? null);
    if (progress !== lastProgress) log(`TrainAndRegister: ${progress}`);
    lastProgress = progress;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const clientSeconds = (performance.now() - started) / 1000;
  if (run.status !== 'COMPLETED' || !run.result) throw new Error(`TrainAndRegister ${ask.workflowId}/${ask.runId} ended ${run.status}`);

  const connection = await Connection.connect({ address: temporalAddress });
  try {
    const history = await new Client({ connection }).workflow.getHandle(ask.workflowId, ask.runId).fetchHistory();
    return { ...ask, clientSeconds, timeline: workflowTimeline(history), result: run.result };
  } finally {
    await connection.close();
  }
}

export function ingestTable(ingest: IngestOutcome, renderSeconds: number): string {
  return markdownTable(
    ['collection step', 'frames', 'wall time', 'rate'],
    [
      [
        'render parking runs (edge simulator, beige-350)',
        `${ingest.frames} (${ingest.labelled} with a laser reading)`,
        duration(renderSeconds),
        `${fixed(ingest.frames / renderSeconds, 0)} frames/s`,
      ],
      [
        '4 rovers send them to /predict (no model: 503 no_model, recorded)',
        String(ingest.frames),
        duration(ingest.wallSeconds),
        `${fixed(ingest.frames / ingest.wallSeconds, 0)} frames/s`,
      ],
      ['analysis backlog stored after the last answer', String(ingest.frames), duration(ingest.drainSeconds), '-'],
    ],
  );
}

export function sweepTable(run: SweepRun): string {
  const { timeline, result } = run;
  const ms = (value: number | undefined) => (value === undefined ? undefined : value / 1000);
  const describe = (activity: string, input: any): string => {
    switch (activity) {
      case 'assembleDataset':
        return `${result.dataset.recordCount} labelled records from ${input?.deployments?.join(', ')}`;
      case 'preprocess':
        return `resize to ${input?.width}x${input?.height}, split ${result.dataset.trainCount} train / ${result.dataset.testCount} test`;
      case 'trainTrial': {
        const p = input?.params ?? {};
        const trial = result.trials[input?.trialIndex];
        return `${input?.architecture}, ${p.epochs} epoch${p.epochs > 1 ? 's' : ''}, batch ${p.batchSize}, dropout ${p.dropout}: test MAE ${fixed(trial?.metrics?.test_mae_mm)} mm`;
      }
      case 'selectBest':
        return `best: ${result.selection.best.trialId} (${fixed(result.selection.best.metrics.test_mae_mm)} mm)`;
      case 'registerModelVersion':
        return result.registration.registered
          ? `registered v${result.registration.version}`
          : `not registered: ${result.registration.reason}`;
      default:
        return '';
    }
  };
  const rows = timeline.steps.map((s) => [
    s.activity + (s.attempt > 1 ? ` (attempt ${s.attempt})` : ''),
    describe(s.activity, s.input),
    duration(ms(s.startedAt === undefined ? undefined : s.startedAt - s.scheduledAt)),
    duration(ms(s.closedAt === undefined || s.startedAt === undefined ? undefined : s.closedAt - s.startedAt)),
    `${duration(ms(s.scheduledAt))} -> ${duration(ms(s.closedAt))}${s.outcome === 'completed' ? '' : ` (${s.outcome})`}`,
  ]);
  const trials = timeline.steps.filter((s) => s.activity === 'trainTrial');
  if (trials.length) {
    const from = Math.min(...trials.map((s) => s.scheduledAt));
    const to = Math.max(...trials.map((s) => s.closedAt ?? NaN));
    rows.push([
      'sweep (all trainTrial)',
      `${trials.length} trials`,
      '',
      duration(ms(to - from)),
      `${duration(ms(from))} -> ${duration(ms(to))}`,
    ]);
  }
  rows.push([
    'workflow total',
    `${run.workflowId}`,
    '',
    duration(ms(timeline.totalMs)),
    `request -> COMPLETED seen by the API: ${duration(run.clientSeconds)}`,
  ]);
  return markdownTable(['step (activity)', 'what', 'waited for a worker', 'ran', 'since workflow start'], rows);
}
