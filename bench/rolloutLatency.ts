/**
 * What a rollout costs /predict: the same model and frames served to 1, 8 and 32 rovers by a
 * `direct` deployment (shadow off) and by a `shadow` deployment whose rollout is in its shadow
 * stage (the candidate predicts on every frame during its analysis, after the answer), then
 * optionally in its canary stage. One stack; v1 is trained by a one-trial TrainAndRegister and v2
 * is registered from the bench process with v1's artifact, so both versions cost the same to run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openRegistry } from '../core/stores/index.js';
import { frameImageKey } from '../core/stores/objectKeys.js';
import type { RegistryStore, RolloutStage } from '../core/stores/registry.js';
import type { EdgeFrame } from '../edge/parkingRun.js';
import { RoverClient } from '../edge/roverClient.js';
import { apiClient, type ApiCall } from '../scripts/apiClient.js';
import { duration, fixed, markdownTable } from './markdownTable.js';
import type { RecordedFrames } from './parkingFrames.js';
import { percentile, replayFrames, type RoverIdentity } from './roverReplay.js';
import { benchmarkPromotion, type PromotionResults } from './rolloutPromotion.js';
import type { BenchSettings } from './settings.js';
import { ADMIN_TOKEN, startStack } from './stack.js';
import { createRovers, ingestFrames, runThesisSweep } from './trainAndRegisterRun.js';

export type ServingMode = 'off' | Extract<RolloutStage, 'shadow' | 'canary'>;

/** One closed-loop run of `requests` frames by some rovers, and its analysis drain. */
interface LevelRun {
  latenciesMs: number[];
  answered: number;
  answeredBy: Record<number, number>;
  errors: Record<string, number>;
  wallSeconds: number;
  /** From the last answer until every record of the run was stored. */
  drainSeconds: number;
  stored: number;
  /** Stored records of the run that hold the other version's prediction. */
  shadowPredicted: number;
  loadAverage: number;
}

/** The runs of one mode at one number of rovers, pooled over the rounds. */
export interface RolloutLevel {
  mode: ServingMode;
  rovers: number;
  /** Of these rovers, how many the candidate answers (canary stage only). */
  canaryRovers: number;
  /** Per round. */
  requests: number;
  rounds: number;
  answered: number;
  answeredBy: Record<number, number>;
  errors: Record<string, number>;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Answers over the rounds' summed wall time. */
  throughput: number;
  /** Per round. */
  drainSeconds: number[];
  stored: number;
  shadowPredicted: number;
  /** 1-minute load average at the start of each round. */
  loadAverage: number[];
}

export interface RolloutResults {
  modelName: string;
  trainSeconds: number;
  testMaeMm: number | undefined;
  /** From setRolloutStage to the first stored record that shows the stage (the API's registry cache, loading v2). */
  stageSeenAfterSeconds: Partial<Record<RolloutStage, number>>;
  levels: RolloutLevel[];
  promotion: PromotionResults | null;
}

const STAGE_DEADLINE_MS = 120_000;
const DRAIN_DEADLINE_MS = 300_000;

/** Reads the stack's measurement store (SQLite) from this process, as the API writes it. */
class StoredRecords {
  private readonly db: Database.Database;
  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    this.db.pragma('busy_timeout = 5000');
  }

  since(deployment: string, time: number): { stored: number; shadowPredicted: number } {
    return this.db
      .prepare('SELECT count(*) AS stored, count(shadow_prediction) AS shadowPredicted FROM inference WHERE deployment = ? AND time >= ?')
      .get(deployment, time) as { stored: number; shadowPredicted: number };
  }

  byImageKey(
    imageKey: string,
  ): { model_version: number; shadow_model_version: number | null; shadow_prediction: number | null } | undefined {
    return this.db
      .prepare('SELECT model_version, shadow_model_version, shadow_prediction FROM inference WHERE image_key = ?')
      .get(imageKey) as never;
  }

  close() {
    this.db.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends one frame at a time from `rover` until its stored record shows the stage: answered by
 * `answeredBy`, with a prediction of `shadowVersion`. Returns the seconds that took.
 */
async function waitForStage(
  apiUrl: string,
  rover: RoverIdentity,
  deployment: string,
  frame: EdgeFrame,
  records: StoredRecords,
  expect: { answeredBy: number; shadowVersion: number },
): Promise<number> {
  const client = new RoverClient({ apiUrl, clientId: rover.clientId, token: rover.token, retries: 0, timeoutMs: 60_000 });
  const started = performance.now();
  let last = 'no answer yet';
  while (performance.now() - started < STAGE_DEADLINE_MS) {
    const answer = await client.predict({ jpeg: frame.jpeg, sensorMm: frame.sensorMm });
    if (!answer.ok) last = `${answer.status} ${answer.code}`;
    else {
      const key = frameImageKey(deployment, answer.requestId);
      const storedBy = performance.now() + 30_000;
      let row = records.byImageKey(key);
      while (!row && performance.now() < storedBy) {
        await sleep(50);
        row = records.byImageKey(key);
      }
      if (row?.model_version === expect.answeredBy && row.shadow_model_version === expect.shadowVersion && row.shadow_prediction !== null)
        return (performance.now() - started) / 1000;
      last = row
        ? `answered by v${row.model_version}, shadow v${row.shadow_model_version ?? '-'} predicted ${row.shadow_prediction ?? 'nothing'}`
        : 'record not stored within 30 s';
    }
    await sleep(500);
  }
  throw new Error(
    `deployment ${deployment}: no record answered by v${expect.answeredBy} with a v${expect.shadowVersion} shadow prediction within ${STAGE_DEADLINE_MS / 1000} s (last: ${last})`,
  );
}

/** v2: v1's artifact and lineage under a run id of its own, so the registry counts it as a new registration. */
async function registerTwin(registry: RegistryStore, modelName: string): Promise<number> {
  const v1 = await registry.getModelVersion(modelName, 1);
  if (!v1) throw new Error(`model ${modelName} has no v1`);
  const { version: _version, createdAt: _createdAt, referenceProfile: _profile, ...lineage } = v1;
  const v2 = await registry.registerModelVersion({ ...lineage, runId: `${v1.runId}-bench-twin`, comparison: null });
  return v2.version;
}

async function measureRun(
  apiUrl: string,
  rovers: RoverIdentity[],
  deployment: string,
  frames: EdgeFrame[],
  requests: number,
  records: StoredRecords,
): Promise<LevelRun> {
  const loadAverage = os.loadavg()[0];
  const since = Date.now();
  const outcome = await replayFrames({ apiUrl, rovers, frames, requests });
  const lastAnswer = performance.now();
  let counted = records.since(deployment, since);
  while (counted.stored < outcome.sent) {
    if (performance.now() - lastAnswer > DRAIN_DEADLINE_MS)
      throw new Error(`deployment ${deployment}: ${counted.stored} of ${outcome.sent} records stored after ${DRAIN_DEADLINE_MS / 1000} s`);
    await sleep(50);
    counted = records.since(deployment, since);
  }
  return {
    latenciesMs: outcome.latenciesMs,
    answered: outcome.answered,
    answeredBy: outcome.answeredBy,
    errors: outcome.errors,
    wallSeconds: outcome.wallSeconds,
    drainSeconds: (performance.now() - lastAnswer) / 1000,
    ...counted,
    loadAverage,
  };
}

function sumCounts(counts: Record<string, number>[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const c of counts) for (const [key, n] of Object.entries(c)) total[key] = (total[key] ?? 0) + n;
  return total;
}

function pooled(mode: ServingMode, rovers: RoverIdentity[], canaryClients: string[], requests: number, runs: LevelRun[]): RolloutLevel {
  const latencies = runs.flatMap((r) => r.latenciesMs);
  const answered = runs.reduce((n, r) => n + r.answered, 0);
  return {
    mode,
    rovers: rovers.length,
    canaryRovers: rovers.filter((r) => canaryClients.includes(r.clientId)).length,
    requests,
    rounds: runs.length,
    answered,
    answeredBy: sumCounts(runs.map((r) => r.answeredBy)),
    errors: sumCounts(runs.map((r) => r.errors)),
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
    throughput: answered / runs.reduce((s, r) => s + r.wallSeconds, 0),
    drainSeconds: runs.map((r) => r.drainSeconds),
    stored: runs.reduce((n, r) => n + r.stored, 0),
    shadowPredicted: runs.reduce((n, r) => n + r.shadowPredicted, 0),
    loadAverage: runs.map((r) => r.loadAverage),
  };
}

export async function benchmarkRollout(
  settings: BenchSettings,
  recorded: RecordedFrames,
  log: (line: string) => void,
): Promise<RolloutResults> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-rollout-'));
  log(`rollout: starting Temporal dev server, workers and API (DATA_DIR ${dataDir})`);
  const stack = await startStack(dataDir);
  const admin: ApiCall = apiClient(stack.apiUrl, ADMIN_TOKEN);
  const modelName = `bench-rollout-${Date.now().toString(36)}`;
  let registry: RegistryStore | undefined;
  let records: StoredRecords | undefined;
  let failed = false;
  try {
    log(`rollout: ${recorded.total} frames -> /predict, then v1 from one trial of ${settings.rollout.epochs} epoch(s)`);
    const ingest = await ingestFrames(admin, stack.apiUrl, modelName, recorded);
    const oneTrial = { ...settings, sweepEpochs: settings.rollout.epochs, sweep: { batchSizes: [32], dropouts: [0.1] } };
    const sweep = await runThesisSweep(admin, stack.temporalAddress, modelName, ingest.deployment, oneTrial, log);
    if (!sweep.result.registration.registered || sweep.result.registration.version !== 1)
      throw new Error(`rollout: expected TrainAndRegister to register v1, got ${JSON.stringify(sweep.result.registration)}`);
    // No drift check, and so no retrain, may start in the middle of the measurements.
    await admin('PUT', `/models/${modelName}/monitor`, { enabled: false });

    const direct = `${modelName}-direct`;
    const rollout = `${modelName}-rollout`;
    await admin('POST', '/deployments', { id: direct, modelName, modelVersion: 1, strategy: 'direct' });
    const { deployment: created } = await admin('POST', '/deployments', {
      id: rollout,
      modelName,
      modelVersion: 'latest',
      strategy: 'shadow',
    });
    if (created.currentVersion !== 1)
      throw new Error(`rollout: the shadow deployment's current version is ${created.currentVersion}, not 1`);
    const most = Math.max(...settings.rovers);
    const directRovers = await createRovers(admin, `${modelName}-direct`, most, direct);
    const rolloutRovers = await createRovers(admin, `${modelName}-rollout`, most, rollout);

    registry = await openRegistry(`sqlite:${path.join(dataDir, 'registry.db')}`);
    records = new StoredRecords(path.join(dataDir, 'measurements.db'));
    const candidate = await registerTwin(registry, modelName);
    const frames = recorded.runs.flatMap((run) => run.frames);

    const warmUp = await replayFrames({ apiUrl: stack.apiUrl, rovers: directRovers.slice(0, 1), frames, requests: 10 });
    if (warmUp.answered !== 10) throw new Error(`rollout: warm-up /predict failed: ${JSON.stringify(warmUp.errors)}`);
    const stageSeenAfterSeconds: RolloutResults['stageSeenAfterSeconds'] = {};
    const enterStage = async (stage: RolloutStage, canaryClients: string[], probe: RoverIdentity) => {
      await registry!.setRolloutStage(rollout, { candidateVersion: candidate, stage, canaryClients, workflowId: 'bench', note: null });
      const answeredBy = canaryClients.includes(probe.clientId) ? candidate : 1;
      stageSeenAfterSeconds[stage] = await waitForStage(stack.apiUrl, probe, rollout, frames[0], records!, {
        answeredBy,
        shadowVersion: answeredBy === 1 ? candidate : 1,
      });
      log(`rollout: ${stage} stage seen in a stored record ${duration(stageSeenAfterSeconds[stage])} after it was set`);
    };
    await enterStage('shadow', [], rolloutRovers[0]);

    const levels: RolloutLevel[] = [];
    const requestsFor = (n: number) => Math.max(settings.predictRequests, n * 10);
    const { rounds } = settings.rollout;
    for (const n of settings.rovers) {
      const requests = requestsFor(n);
      const off = { rovers: directRovers.slice(0, n), deployment: direct, runs: [] as LevelRun[] };
      const on = { rovers: rolloutRovers.slice(0, n), deployment: rollout, runs: [] as LevelRun[] };
      for (let round = 0; round < rounds; round++) {
        // Off first in even rounds, on first in odd ones: neither always runs on a machine the other has just warmed.
        for (const side of round % 2 === 0 ? [off, on] : [on, off]) {
          log(`rollout: ${n} rover(s), ${requests} requests, shadow ${side === off ? 'off' : 'on'} (round ${round + 1} of ${rounds})`);
          side.runs.push(await measureRun(stack.apiUrl, side.rovers, side.deployment, frames, requests, records));
        }
      }
      levels.push(pooled('off', off.rovers, [], requests, off.runs), pooled('shadow', on.rovers, [], requests, on.runs));
    }

    const every = settings.rollout.canaryEvery;
    const canaryClients = every > 0 ? rolloutRovers.filter((_, i) => (i + 1) % every === 0).map((r) => r.clientId) : [];
    if (canaryClients.length) {
      await enterStage('canary', canaryClients, rolloutRovers[every - 1]);
      for (const n of settings.rovers) {
        const requests = requestsFor(n);
        const runs: LevelRun[] = [];
        for (let round = 0; round < rounds; round++) {
          log(`rollout: ${n} rover(s), ${requests} requests, canary stage (round ${round + 1} of ${rounds})`);
          runs.push(await measureRun(stack.apiUrl, rolloutRovers.slice(0, n), rollout, frames, requests, records));
        }
        levels.push(pooled('canary', rolloutRovers.slice(0, n), canaryClients, requests, runs));
      }
    }

    let promotion: PromotionResults | null = null;
    if (settings.rollout.promotion) {
      // Its rollout of v2 was set by hand: the next registration would start a real one there too.
      await admin('DELETE', `/deployments/${rollout}`);
      promotion = await benchmarkPromotion({
        stack,
        admin,
        registry,
        modelName,
        trainedVersion: 1,
        frames,
        settings: settings.rollout.promotion,
        log,
      });
    }
    return {
      modelName,
      trainSeconds: sweep.clientSeconds,
      testMaeMm: sweep.result.selection.best.metrics.test_mae_mm,
      stageSeenAfterSeconds,
      levels,
      promotion,
    };
  } catch (err) {
    failed = true;
    const tails = (['api', 'workers'] as const).map((name) => `--- ${name} log (${dataDir}/logs) ---\n${stack.logTail(name)}`).join('\n');
    throw new Error(`${(err as Error).message}\n${tails}`, { cause: err });
  } finally {
    records?.close();
    await registry?.close();
    await stack.close();
    if (!failed) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => percentile(values, 50);

const MODE_LABEL: Record<ServingMode, string> = {
  off: 'off (direct, v1)',
  shadow: 'shadow (v1 answers, v2 shadows)',
  canary: 'canary (v2 answers the canary rovers)',
};

export function rolloutTables(results: RolloutResults): { levels: string; comparison: string } {
  const answers = (l: RolloutLevel) =>
    Object.entries(l.answeredBy)
      .map(([version, count]) => `v${version}: ${count}`)
      .join(', ');
  const levels = markdownTable(
    [
      'shadow',
      'rovers',
      'canary rovers',
      'requests',
      'answered 200 (by version)',
      'errors',
      'p50',
      'p95',
      'p99',
      'max',
      'throughput',
      'analysis drain after the last answer',
      'stored frames with a shadow prediction',
      'load avg (1 min)',
    ],
    results.levels.map((l) => [
      MODE_LABEL[l.mode],
      String(l.rovers),
      l.mode === 'canary' ? String(l.canaryRovers) : '-',
      l.rounds > 1 ? `${l.rounds} x ${l.requests}` : String(l.requests),
      `${l.answered} (${answers(l)})`,
      Object.keys(l.errors).length ? JSON.stringify(l.errors) : '0',
      `${fixed(l.p50)} ms`,
      `${fixed(l.p95)} ms`,
      `${fixed(l.p99)} ms`,
      `${fixed(l.max)} ms`,
      `${fixed(l.throughput)} req/s`,
      l.drainSeconds.map(duration).join(' / '),
      `${l.shadowPredicted} of ${l.stored} (${fixed((100 * l.shadowPredicted) / l.stored)} %)`,
      l.loadAverage.map((a) => fixed(a, 2)).join(' / '),
    ]),
  );
  const ratio = (off: number, on: number, unit: string, digits = 1) =>
    `${fixed(off, digits)} -> ${fixed(on, digits)} ${unit} (x${fixed(on / off, 2)})`;
  const comparison = markdownTable(
    ['rovers', 'p50 off -> on', 'p99 off -> on', 'throughput off -> on', 'analysis drain off -> on (median of the rounds)'],
    results.levels
      .filter((l) => l.mode === 'shadow')
      .flatMap((on) => {
        const off = results.levels.find((l) => l.mode === 'off' && l.rovers === on.rovers);
        return off
          ? [
              [
                String(on.rovers),
                ratio(off.p50, on.p50, 'ms'),
                ratio(off.p99, on.p99, 'ms'),
                ratio(off.throughput, on.throughput, 'req/s'),
                ratio(median(off.drainSeconds), median(on.drainSeconds), 's', 2),
              ],
            ]
          : [];
      }),
  );
  return { levels, comparison };
}
