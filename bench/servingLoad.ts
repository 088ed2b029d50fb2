/**
 * The API under open-loop rovers (the embedded stack of bench/stack.ts, an untrained thesis CNN at 100x75
 * registered straight into its registry): the whole API process's CPU per frame at a steady rate read from
 * /proc/<pid>/stat, step rates for the highest sustainable one, and the two levels (128 and 256 frames/s).
 * Every level waits until the analysis has stored a record for every answered frame.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { buildModel } from '../core/ml/architectures.js';
import { loadBackend } from '../core/ml/backend.js';
import { putModel, serializeModel } from '../core/ml/modelArtifact.js';
import { FolderObjects } from '../core/stores/folderObjects.js';
import { openRegistry } from '../core/stores/index.js';
import type { EdgeFrame } from '../edge/parkingRun.js';
import { apiClient, type ApiCall } from '../scripts/apiClient.js';
import { duration, fixed, markdownTable } from './markdownTable.js';
import { driveOpenLoop, type SentFrame } from './openLoopRovers.js';
import { percentile, replayFrames } from './roverReplay.js';
import type { FrameCostSettings } from './settings.js';
import { ADMIN_TOKEN, startStack, type Stack } from './stack.js';
import { createRovers } from './trainAndRegisterRun.js';

const FRAMES_PER_SECOND_PER_ROVER = 4;
const DRAIN_DEADLINE_MS = 180_000;
const IDLE_SAMPLE_MS = 5_000;

export interface LoadLevel {
  framesPerSecond: number;
  rovers: number;
  seconds: number;
  sent: number;
  answered: number;
  /** Error code -> frames (503s by their code; `timeout` when the rover gave up). */
  errors: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
  /** From the last answer until a record was stored for every answered frame (undefined: not within the deadline). */
  drainSeconds: number | undefined;
  /** Records stored in the end: the answered frames, and timed-out ones the API finished anyway. */
  stored: number;
  /** API process CPU (all threads) from the first frame until no more records are stored, minus its idle rate, per stored frame. */
  apiCpuMsPerFrame: number;
  /** The same for this process (the rovers' client side), for scale. */
  clientCpuMsPerFrame: number;
  loadAverage: number[];
}

export interface ServingLoadResults {
  modelName: string;
  clockTicksPerSecond: number;
  /** API process CPU while idle (stack up, no frames), in cores. */
  apiIdleCores: number;
  cpu: LoadLevel;
  steps: LoadLevel[];
  /** The highest step rate answered with p99 < 100 ms and no refusals or time-outs. */
  sustainableFramesPerSecond: number | undefined;
  levels: LoadLevel[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** utime + stime of a process in clock ticks, every thread included (/proc/<pid>/stat fields 14 and 15). */
function processTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state).
  return Number(fields[11]) + Number(fields[12]);
}

/** An untrained thesis CNN (a prediction costs the same as a trained one's) as v1 of a new model in the stack's stores. */
async function registerUntrainedModel(stack: Stack, modelName: string, input: { width: number; height: number }): Promise<void> {
  const { tf, name: backend } = await loadBackend();
  const model = buildModel(tf, 'thesis-inception', { ...input, dropout: 0.1, learningRate: 1e-3, seed: 1 });
  const serialized = await serializeModel(tf, model, { architecture: 'thesis-inception', ...input, labelMaxMm: 350, backend });
  model.dispose();
  const artifactKey = `bench/${modelName}/model`;
  await putModel(new FolderObjects(path.join(stack.dataDir, 'objects')), artifactKey, serialized);
  const registry = await openRegistry(`sqlite:${path.join(stack.dataDir, 'registry.db')}`);
  try {
    await registry.registerModelVersion({
      modelName,
      artifactKey,
      artifactSha256: serialized.sha256,
      architecture: 'thesis-inception',
      metrics: {},
      params: { ...input },
      trialId: `${modelName}-untrained`,
      workflowId: 'bench-serving-load',
      runId: modelName,
      datasetKey: 'none',
      datasetSha256: 'none',
      sourceDeployments: [],
      recordCount: 0,
      comparison: null,
    });
  } finally {
    await registry.close();
  }
}

export async function benchmarkServingLoad(
  settings: FrameCostSettings,
  frames: EdgeFrame[],
  log: (line: string) => void,
): Promise<ServingLoadResults> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-load-'));
  log(`serving load: starting Temporal dev server, workers and API (DATA_DIR ${dataDir})`);
  const stack = await startStack(dataDir);
  const admin: ApiCall = apiClient(stack.apiUrl, ADMIN_TOKEN);
  const modelName = `bench-load-${Date.now().toString(36)}`;
  const deployment = `${modelName}-serve`;
  let records: Database.Database | undefined;
  let failed = false;
  try {
    await registerUntrainedModel(stack, modelName, settings.input);
    await admin('POST', '/deployments', { id: deployment, modelName, modelVersion: 1, strategy: 'direct' });
    await admin('PUT', `/models/${modelName}/monitor`, { enabled: false });
    const mostRovers = Math.max(
      ...settings.openLoop.map((l) => l.rovers),
      ...settings.steps.map((r) => Math.ceil(r / FRAMES_PER_SECOND_PER_ROVER)),
    );
    const rovers = await createRovers(admin, `${modelName}-rover`, mostRovers, deployment);
    const warmUp = await replayFrames({ apiUrl: stack.apiUrl, rovers: rovers.slice(0, 2), frames, requests: 40 });
    if (warmUp.answered !== 40) throw new Error(`serving load: warm-up /predict failed: ${JSON.stringify(warmUp.errors)}`);
    records = new Database(path.join(dataDir, 'measurements.db'), { readonly: true, fileMustExist: true });
    records.pragma('busy_timeout = 5000');
    const storedSince = records.prepare('SELECT count(*) AS n FROM inference WHERE deployment = ? AND time >= ?');
    const countStored = (since: number) => (storedSince.get(deployment, since) as { n: number }).n;
    // The warm-up's analysis drains before anything is measured.
    for (const deadline = Date.now() + DRAIN_DEADLINE_MS; countStored(0) < 40 && Date.now() < deadline;) await sleep(100);

    const hz = clockTicksPerSecond();
    const api = stack.pids.api;
    const idleFrom = processTicks(api);
    await sleep(IDLE_SAMPLE_MS);
    const apiIdleCores = (processTicks(api) - idleFrom) / hz / (IDLE_SAMPLE_MS / 1000);

    const runLevel = async (framesPerSecond: number, seconds: number): Promise<LoadLevel> => {
      const count = Math.ceil(framesPerSecond / FRAMES_PER_SECOND_PER_ROVER);
      log(`serving load: ${framesPerSecond} frames/s (${count} rovers at ${FRAMES_PER_SECOND_PER_ROVER} frames/s) for ${seconds} s`);
      const loadAverage = os.loadavg();
      const since = Date.now();
      const ticksFrom = processTicks(api);
      const clientFrom = process.cpuUsage();
      const started = performance.now();
      const drive = driveOpenLoop({
        apiUrl: stack.apiUrl,
        rovers: rovers.slice(0, count),
        frames,
        periodMs: (1000 * count) / framesPerSecond,
        timeoutMs: settings.timeoutMs,
      });
      await sleep(seconds * 1000);
      const sent: SentFrame[] = await drive.stop();
      const lastAnswer = performance.now();
      const answered = sent.filter((s) => 'version' in s.answer);
      let stored = countStored(since);
      while (stored < answered.length && performance.now() - lastAnswer < DRAIN_DEADLINE_MS) {
        await sleep(50);
        stored = countStored(since);
      }
      const drainSeconds = stored >= answered.length ? (performance.now() - lastAnswer) / 1000 : undefined;
      // Timed-out frames may still be analysed, refused ones never are: the level ends when no more records come.
      for (let last = -1; stored !== last;) {
        last = stored;
        await sleep(2000);
        stored = countStored(since);
      }
      const elapsedSeconds = (performance.now() - started) / 1000;
      const apiSeconds = (processTicks(api) - ticksFrom) / hz - apiIdleCores * elapsedSeconds;
      const client = process.cpuUsage(clientFrom);
      const errors: Record<string, number> = {};
      for (const s of sent) if ('error' in s.answer) errors[s.answer.error] = (errors[s.answer.error] ?? 0) + 1;
      const latencies = answered.map((s) => s.latencyMs);
      const level: LoadLevel = {
        framesPerSecond,
        rovers: count,
        seconds,
        sent: sent.length,
        answered: answered.length,
        errors,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: latencies.length ? Math.max(...latencies) : NaN,
        drainSeconds,
        stored,
        apiCpuMsPerFrame: (1000 * apiSeconds) / Math.max(1, stored),
        clientCpuMsPerFrame: (client.user + client.system) / 1000 / Math.max(1, sent.length),
        loadAverage,
      };
      log(
        `serving load: ${level.answered}/${level.sent} answered, ${stored} stored, p99 ${fixed(level.p99)} ms, errors ${JSON.stringify(errors)}, drain ${duration(drainSeconds)}, API ${fixed(level.apiCpuMsPerFrame)} ms CPU/frame`,
      );
      return level;
    };

    const cpu = await runLevel(settings.cpuFramesPerSecond, settings.cpuSeconds);
    const steps: LoadLevel[] = [];
    for (const rate of settings.steps) steps.push(await runLevel(rate, settings.stepSeconds));
    const sustainable = steps.filter((s) => s.p99 < 100 && s.answered === s.sent).map((s) => s.framesPerSecond);
    const levels: LoadLevel[] = [];
    for (const level of settings.openLoop) levels.push(await runLevel(level.rovers * FRAMES_PER_SECOND_PER_ROVER, level.seconds));
    return {
      modelName,
      clockTicksPerSecond: hz,
      apiIdleCores,
      cpu,
      steps,
      sustainableFramesPerSecond: sustainable.length ? Math.max(...sustainable) : undefined,
      levels,
    };
  } catch (err) {
    failed = true;
    log(`serving load failed; API log tail:\n${stack.logTail('api', 30)}`);
    throw err;
  } finally {
    records?.close();
    await stack.close();
    if (!failed) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export function loadTable(levels: LoadLevel[]): string {
  return markdownTable(
    [
      'frames/s',
      'rovers',
      'seconds',
      'sent',
      'answered',
      'not answered (503 code, timeout, network_error)',
      'p50',
      'p99',
      'max',
      'analysis stored every answered frame',
      'stored in the end',
      'API CPU per stored frame',
      'load average at start',
    ],
    levels.map((l) => [
      String(l.framesPerSecond),
      String(l.rovers),
      String(l.seconds),
      String(l.sent),
      String(l.answered),
      Object.keys(l.errors).length ? JSON.stringify(l.errors) : '0',
      `${fixed(l.p50)} ms`,
      `${fixed(l.p99)} ms`,
      `${fixed(l.max)} ms`,
      l.drainSeconds === undefined
        ? `no: ${l.stored} of ${l.answered} after ${DRAIN_DEADLINE_MS / 1000} s`
        : `${duration(l.drainSeconds)} after the last answer`,
      String(l.stored),
      `${fixed(l.apiCpuMsPerFrame)} ms`,
      l.loadAverage.map((a) => a.toFixed(2)).join(', '),
    ]),
  );
}
