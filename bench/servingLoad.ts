/**
 * The API under open-loop rovers (the embedded stack of bench/stack.ts, an untrained thesis CNN at 100x75
 * registered straight into its registry): the whole API process's CPU per frame for one sender and at a
 * steady rate read from /proc/<pid>/stat, step rates for the highest sustainable one, and the issue's two
 * levels (128 and 256 frames/s). Then the same levels, with the same rovers and frames, against the thesis's
 * predict path (bench/thesisHarness.ts) once the stack is down, so the two are compared in one run.
 * Every level waits until the analysis has stored a record for every answered frame.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { buildModel } from '../core/ml/architectures.js';
import { loadBackend } from '../core/ml/backend.js';
import { GRAPH_PREPROCESSING, putModel, serializeModel } from '../core/ml/modelArtifact.js';
import { FolderObjects } from '../core/stores/folderObjects.js';
import { openRegistry } from '../core/stores/index.js';
import type { EdgeFrame } from '../edge/parkingRun.js';
import { apiClient, type ApiCall } from '../scripts/apiClient.js';
import { Scrape } from '../test/support/prometheus.js';
import { LABEL_MAX_MM } from './frameCost.js';
import { duration, fixed, markdownTable } from './markdownTable.js';
import { frameSender, type FrameSender } from './frameSender.js';
import { driveOpenLoop, type SentFrame } from './openLoopRovers.js';
import { percentile, replayFrames, type RoverIdentity } from './roverReplay.js';
import type { FrameCostSettings } from './settings.js';
import { ADMIN_TOKEN, startStack, type Stack } from './stack.js';
import { startThesisHarness } from './thesisHarness.js';
import { createRovers } from './trainAndRegisterRun.js';

const FRAMES_PER_SECOND_PER_ROVER = 4;
const DRAIN_DEADLINE_MS = 180_000;
const IDLE_SAMPLE_MS = 5_000;
const WARM_UP_FRAMES = 40;
/** The API's longest event-loop stall since the last scrape of its /metrics (docs/METRICS.md). */
export const STALL_GAUGE = 'api_event_loop_stall_max_seconds';
/** The API's micro-batch size histogram (frames per model call with batcher="predict"). */
const BATCH_HISTOGRAM = 'api_micro_batch_size';

export interface LoadLevel {
  /** The rate sent at; for one sender, the rate its answers allowed. */
  framesPerSecond: number;
  /** One rover sending its next frame when the previous one is answered (closed loop). */
  oneSender?: true;
  rovers: number;
  seconds: number;
  sent: number;
  answered: number;
  /** Error code -> frames (503s by their code; `timeout` when the rover gave up). */
  errors: Record<string, number>;
  /** Frames neither answered nor refused with a 503: timed out, network errors, other statuses. */
  lost: number;
  p50: number;
  p99: number;
  max: number;
  /** From the last answer until a record was stored for every answered frame (undefined: not within the deadline). */
  drainSeconds: number | undefined;
  /** Records stored in the end: the answered frames, and timed-out ones the API finished anyway. */
  stored: number;
  /** Server process CPU (all threads) from the first frame until no more records are stored, minus its idle rate, per stored frame. */
  serverCpuMsPerFrame: number;
  /** Of it, the main thread's (the event loop's JavaScript, and what it does synchronously), idle rate not subtracted. */
  serverMainThreadCpuMsPerFrame: number;
  /** This process's CPU (the rovers' client side) from the first frame sent to the last answer, per frame sent. */
  clientCpuMsPerFrame: number;
  /** The server's longest event-loop stall from the level's start until its last record was stored (undefined: it does not say). */
  stallMs: number | undefined;
  /** Frames per model call over the level (its micro-batch histogram; undefined: it does not say). */
  framesPerModelCall: number | undefined;
  loadAverage: number[];
}

export interface ServerUnderLoad {
  /** Server process CPU while idle (up, no frames), in cores. */
  idleCores: number;
  single: LoadLevel;
  cpu: LoadLevel;
  steps: LoadLevel[];
  /** The highest step rate answered with p99 < 100 ms and no refusals or time-outs. */
  sustainableFramesPerSecond: number | undefined;
  levels: LoadLevel[];
}

export interface ServingLoadResults {
  modelName: string;
  clockTicksPerSecond: number;
  api: ServerUnderLoad;
  /** The thesis's predict path under the same levels (undefined: BENCH_COST_THESIS=0). */
  thesis: ServerUnderLoad | undefined;
  /** Exceptions the thesis harness logged over all its levels, by their last line. */
  thesisExceptions: Record<string, number>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** utime + stime in clock ticks (fields 14 and 15 of a stat file). */
function statTicks(file: string): number {
  const stat = fs.readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state).
  return Number(fields[11]) + Number(fields[12]);
}

/** A process's CPU in clock ticks, every thread included. */
const processTicks = (pid: number) => statTicks(`/proc/${pid}/stat`);
/** Its main thread's alone (the thread whose id is the pid): Node's event loop. */
const mainThreadTicks = (pid: number) => statTicks(`/proc/${pid}/task/${pid}/stat`);

/**
 * An untrained thesis CNN (a prediction costs the same as a trained one's) as v1 of a new model in the stack's stores,
 * made as training makes it: on the JPEG graph's preprocessing where native TensorFlow runs (served JPEG-in).
 */
async function registerUntrainedModel(stack: Stack, modelName: string, input: { width: number; height: number }): Promise<void> {
  const { tf, name: backend } = await loadBackend();
  const model = buildModel(tf, 'thesis-inception', { ...input, dropout: 0.1, learningRate: 1e-3, seed: 1 });
  const preprocessing = backend === 'tensorflow' ? GRAPH_PREPROCESSING : undefined;
  const serialized = await serializeModel(tf, model, {
    architecture: 'thesis-inception',
    ...input,
    labelMaxMm: LABEL_MAX_MM,
    backend,
    preprocessing,
  });
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

/** A server under load: where to send frames, the process to read CPU from, and how many records it stored. */
interface ServingTarget {
  url: string;
  pid: number;
  countStored(since: number): number;
  /** Its Prometheus metrics, if it has the stall gauge. */
  metricsUrl?: string;
}

/** What the server's /metrics says at one moment: its longest stall since the previous scrape, its predict batches so far. */
interface ServerScrape {
  /** In ms; undefined when the server does not export the gauge. */
  stallMs: number | undefined;
  /** The sum and count of its predict micro-batch sizes; undefined when it does not export them. */
  batches: { sum: number; count: number } | undefined;
}

/** One scrape (which starts the stall gauge's next period), or nothing for a server without metrics. */
async function scrapeServer(metricsUrl: string | undefined): Promise<ServerScrape> {
  if (!metricsUrl) return { stallMs: undefined, batches: undefined };
  const scrape = await Scrape.of(metricsUrl);
  const stall = scrape.series(STALL_GAUGE);
  const predict = { batcher: 'predict' };
  const count = scrape.series(`${BATCH_HISTOGRAM}_count`, predict);
  return {
    stallMs: stall.length ? 1000 * stall[0].value : undefined,
    batches: count.length ? { sum: scrape.value(`${BATCH_HISTOGRAM}_sum`, predict), count: count[0].value } : undefined,
  };
}

async function waitForStored(target: ServingTarget, count: number): Promise<void> {
  for (const deadline = Date.now() + DRAIN_DEADLINE_MS; target.countStored(0) < count && Date.now() < deadline;) await sleep(100);
}

/** One rover sending its next frame when the previous one is answered. */
function driveOneSender(sender: FrameSender, rover: RoverIdentity, count: number) {
  return async (): Promise<SentFrame[]> => {
    const sent: SentFrame[] = [];
    for (let k = 0; k < count; k++) {
      const sentAt = Date.now();
      const answer = await sender.send(rover, k);
      sent.push({ clientId: rover.clientId, sentAt, latencyMs: Date.now() - sentAt, answer });
    }
    return sent;
  };
}

/** Every level of the settings against one server: its idle rate, one sender, the steady rate, the steps, the open-loop levels. */
async function loadServer(
  name: string,
  target: ServingTarget,
  rovers: RoverIdentity[],
  settings: FrameCostSettings,
  frames: EdgeFrame[],
  log: (line: string) => void,
): Promise<ServerUnderLoad> {
  const hz = clockTicksPerSecond();
  const sender = await frameSender({ apiUrl: target.url, frames, timeoutMs: settings.timeoutMs, kind: settings.roverClient });
  const idleFrom = processTicks(target.pid);
  await sleep(IDLE_SAMPLE_MS);
  const idleCores = (processTicks(target.pid) - idleFrom) / hz / (IDLE_SAMPLE_MS / 1000);

  const measure = async (
    shape: { framesPerSecond: number; rovers: number; seconds: number; oneSender?: true },
    drive: () => Promise<SentFrame[]>,
  ): Promise<LoadLevel> => {
    const loadAverage = os.loadavg();
    const batchesFrom = (await scrapeServer(target.metricsUrl)).batches;
    const since = Date.now();
    const ticksFrom = processTicks(target.pid);
    const mainTicksFrom = mainThreadTicks(target.pid);
    const clientFrom = process.cpuUsage();
    const started = performance.now();
    const sent = await drive();
    const lastAnswer = performance.now();
    // The rovers' own CPU: while they send, not while this process waits for the records.
    const client = process.cpuUsage(clientFrom);
    const driveSeconds = (lastAnswer - started) / 1000;
    const answered = sent.filter((s) => 'version' in s.answer);
    let stored = target.countStored(since);
    while (stored < answered.length && performance.now() - lastAnswer < DRAIN_DEADLINE_MS) {
      await sleep(50);
      stored = target.countStored(since);
    }
    const drainSeconds = stored >= answered.length ? (performance.now() - lastAnswer) / 1000 : undefined;
    // Timed-out frames may still be analysed, refused ones never are: the level ends when no more records come.
    for (let last = -1; stored !== last;) {
      last = stored;
      await sleep(2000);
      stored = target.countStored(since);
    }
    const elapsedSeconds = (performance.now() - started) / 1000;
    const serverSeconds = (processTicks(target.pid) - ticksFrom) / hz - idleCores * elapsedSeconds;
    const mainThreadSeconds = (mainThreadTicks(target.pid) - mainTicksFrom) / hz;
    const { stallMs, batches: batchesTo } = await scrapeServer(target.metricsUrl);
    const framesPerModelCall =
      batchesFrom && batchesTo && batchesTo.count > batchesFrom.count
        ? (batchesTo.sum - batchesFrom.sum) / (batchesTo.count - batchesFrom.count)
        : undefined;
    const errors: Record<string, number> = {};
    for (const s of sent) if ('error' in s.answer) errors[s.answer.error] = (errors[s.answer.error] ?? 0) + 1;
    const latencies = answered.map((s) => s.latencyMs);
    const level: LoadLevel = {
      ...shape,
      // One sender goes as fast as the answers come.
      framesPerSecond: shape.oneSender ? sent.length / driveSeconds : shape.framesPerSecond,
      seconds: shape.oneSender ? driveSeconds : shape.seconds,
      sent: sent.length,
      answered: answered.length,
      errors,
      lost: sent.filter((s) => 'error' in s.answer && s.answer.status !== 503).length,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.length ? Math.max(...latencies) : NaN,
      drainSeconds,
      stored,
      serverCpuMsPerFrame: (1000 * serverSeconds) / Math.max(1, stored),
      serverMainThreadCpuMsPerFrame: (1000 * mainThreadSeconds) / Math.max(1, stored),
      clientCpuMsPerFrame: (client.user + client.system) / 1000 / Math.max(1, sent.length),
      stallMs,
      framesPerModelCall,
      loadAverage,
    };
    log(
      `serving load (${name}): ${level.answered}/${level.sent} answered, ${stored} stored, p99 ${fixed(level.p99)} ms, errors ${JSON.stringify(errors)}, drain ${duration(drainSeconds)}, ${fixed(level.serverCpuMsPerFrame)} ms CPU/frame (main thread ${fixed(level.serverMainThreadCpuMsPerFrame)}), longest stall ${fixed(stallMs)} ms, ${fixed(framesPerModelCall, 2)} frames per model call, rovers ${fixed(level.clientCpuMsPerFrame, 2)} ms CPU/frame`,
    );
    return level;
  };

  const runLevel = (framesPerSecond: number, seconds: number) => {
    const count = Math.ceil(framesPerSecond / FRAMES_PER_SECOND_PER_ROVER);
    log(
      `serving load (${name}): ${framesPerSecond} frames/s (${count} rovers at ${FRAMES_PER_SECOND_PER_ROVER} frames/s) for ${seconds} s`,
    );
    return measure({ framesPerSecond, rovers: count, seconds }, async () => {
      const drive = driveOpenLoop({
        apiUrl: target.url,
        rovers: rovers.slice(0, count),
        frames,
        periodMs: (1000 * count) / framesPerSecond,
        sender,
      });
      await sleep(seconds * 1000);
      return drive.stop();
    });
  };

  log(`serving load (${name}): one sender, ${settings.repetitions} frames one after the other`);
  const single = await measure(
    { framesPerSecond: NaN, rovers: 1, seconds: NaN, oneSender: true },
    driveOneSender(sender, rovers[0], settings.repetitions),
  );
  const cpu = await runLevel(settings.cpuFramesPerSecond, settings.cpuSeconds);
  const steps: LoadLevel[] = [];
  for (const rate of settings.steps) steps.push(await runLevel(rate, settings.stepSeconds));
  const sustainable = steps.filter((s) => s.p99 < 100 && s.answered === s.sent).map((s) => s.framesPerSecond);
  const levels: LoadLevel[] = [];
  for (const level of settings.openLoop) levels.push(await runLevel(level.rovers * FRAMES_PER_SECOND_PER_ROVER, level.seconds));
  sender.close();
  return {
    idleCores,
    single,
    cpu,
    steps,
    sustainableFramesPerSecond: sustainable.length ? Math.max(...sustainable) : undefined,
    levels,
  };
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
  let rovers: RoverIdentity[];
  let api: ServerUnderLoad;
  try {
    await registerUntrainedModel(stack, modelName, settings.input);
    await admin('POST', '/deployments', { id: deployment, modelName, modelVersion: 1, strategy: 'direct' });
    await admin('PUT', `/models/${modelName}/monitor`, { enabled: false });
    const mostRovers = Math.max(
      ...settings.openLoop.map((l) => l.rovers),
      ...settings.steps.map((r) => Math.ceil(r / FRAMES_PER_SECOND_PER_ROVER)),
    );
    rovers = await createRovers(admin, `${modelName}-rover`, mostRovers, deployment);
    const warmUp = await replayFrames({ apiUrl: stack.apiUrl, rovers: rovers.slice(0, 2), frames, requests: WARM_UP_FRAMES });
    if (warmUp.answered !== WARM_UP_FRAMES) throw new Error(`serving load: warm-up /predict failed: ${JSON.stringify(warmUp.errors)}`);
    records = new Database(path.join(dataDir, 'measurements.db'), { readonly: true, fileMustExist: true });
    records.pragma('busy_timeout = 5000');
    const storedSince = records.prepare('SELECT count(*) AS n FROM inference WHERE deployment = ? AND time >= ?');
    const target: ServingTarget = {
      url: stack.apiUrl,
      pid: stack.pids.api,
      countStored: (since) => (storedSince.get(deployment, since) as { n: number }).n,
      metricsUrl: `${stack.apiUrl}/metrics`,
    };
    // The warm-up's analysis drains before anything is measured.
    await waitForStored(target, WARM_UP_FRAMES);
    api = await loadServer('this project', target, rovers, settings, frames, log);
  } catch (err) {
    failed = true;
    log(`serving load failed; API log tail:\n${stack.logTail('api', 30)}`);
    throw err;
  } finally {
    records?.close();
    await stack.close();
    if (!failed && !process.env.BENCH_KEEP) fs.rmSync(dataDir, { recursive: true, force: true });
  }

  let thesis: ServerUnderLoad | undefined;
  let thesisExceptions: Record<string, number> = {};
  if (settings.thesis) {
    const thesisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-thesis-'));
    log(`serving load: starting the thesis's predict path (bench/thesis_predict_server.py, data in ${thesisDir})`);
    const harness = await startThesisHarness({
      dataDir: thesisDir,
      input: settings.input,
      labelMaxMm: LABEL_MAX_MM,
      modelName,
      deployment,
      clients: rovers,
    });
    try {
      const warmUp = await replayFrames({ apiUrl: harness.url, rovers: rovers.slice(0, 2), frames, requests: WARM_UP_FRAMES });
      if (warmUp.answered !== WARM_UP_FRAMES)
        throw new Error(`serving load: warm-up of the thesis harness failed: ${JSON.stringify(warmUp.errors)}`);
      await waitForStored(harness, WARM_UP_FRAMES);
      thesis = await loadServer('thesis', harness, rovers, settings, frames, log);
    } catch (err) {
      failed = true;
      log(`serving load (thesis) failed; its log tail:\n${harness.logTail(30)}`);
      throw err;
    } finally {
      thesisExceptions = harness.exceptions();
      await harness.close();
      if (!failed) fs.rmSync(thesisDir, { recursive: true, force: true });
    }
  }
  return { modelName, clockTicksPerSecond: clockTicksPerSecond(), api, thesis, thesisExceptions };
}

const levelName = (l: LoadLevel) => (l.oneSender ? `1 sender, closed loop (${fixed(l.framesPerSecond)}/s)` : String(l.framesPerSecond));
const notAnswered = (l: LoadLevel) => (Object.keys(l.errors).length ? JSON.stringify(l.errors) : '0');

/** Every level of one server, in the order it ran. */
export const levelsOf = (server: ServerUnderLoad): LoadLevel[] => [server.single, server.cpu, ...server.steps, ...server.levels];

export function loadTable(levels: LoadLevel[], server = 'API'): string {
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
      `${server} CPU per stored frame`,
      'of it, main thread',
      'longest event-loop stall',
      'frames per model call',
      "bench rovers' CPU per sent frame",
      'load average at start',
    ],
    levels.map((l) => [
      levelName(l),
      String(l.rovers),
      fixed(l.seconds, 0),
      String(l.sent),
      String(l.answered),
      notAnswered(l),
      `${fixed(l.p50)} ms`,
      `${fixed(l.p99)} ms`,
      `${fixed(l.max)} ms`,
      l.drainSeconds === undefined
        ? `no: ${l.stored} of ${l.answered} after ${DRAIN_DEADLINE_MS / 1000} s`
        : `${duration(l.drainSeconds)} after the last answer`,
      String(l.stored),
      `${fixed(l.serverCpuMsPerFrame)} ms`,
      `${fixed(l.serverMainThreadCpuMsPerFrame)} ms`,
      l.stallMs === undefined ? '-' : `${fixed(l.stallMs)} ms`,
      l.framesPerModelCall === undefined ? '-' : fixed(l.framesPerModelCall, 2),
      `${fixed(l.clientCpuMsPerFrame, 2)} ms`,
      l.loadAverage.map((a) => a.toFixed(2)).join(', '),
    ]),
  );
}

/** This project and the thesis level by level (both ran the same levels in the same order). */
export function sideBySideTable(api: ServerUnderLoad, thesis: ServerUnderLoad): string {
  const theirs = levelsOf(thesis);
  return markdownTable(
    [
      'frames/s',
      'answered of sent: this project',
      'thesis',
      'not answered: this project',
      'thesis',
      'p50 / p99 / max: this project',
      'thesis',
      'CPU per stored frame: this project',
      'thesis',
      'CPU ratio thesis / this project',
      'stored: this project',
      'thesis',
    ],
    levelsOf(api).map((ours, i) => {
      const t = theirs[i];
      const latency = (l: LoadLevel) => `${fixed(l.p50)} / ${fixed(l.p99)} / ${fixed(l.max)} ms`;
      return [
        ours.oneSender
          ? `1 sender, closed loop (${fixed(ours.framesPerSecond)} / ${fixed(t.framesPerSecond)} per s)`
          : String(ours.framesPerSecond),
        `${ours.answered} of ${ours.sent}`,
        `${t.answered} of ${t.sent}`,
        notAnswered(ours),
        notAnswered(t),
        latency(ours),
        latency(t),
        `${fixed(ours.serverCpuMsPerFrame)} ms`,
        `${fixed(t.serverCpuMsPerFrame)} ms`,
        `${fixed(t.serverCpuMsPerFrame / ours.serverCpuMsPerFrame, 2)}x`,
        String(ours.stored),
        String(t.stored),
      ];
    }),
  );
}

/** The issue's targets (issue 26), on a quiet machine: what the run's 128 frames/s level and its stalls are held to. */
export const TARGETS = { framesPerSecond: 128, seconds: 60, cpuMsPerFrame: 4, p99Ms: 50, stallMs: 20 };

/** One line per target: PASS or FAIL and the figures it was judged on. */
export function targetLines(api: ServerUnderLoad): string[] {
  const atRate = levelsOf(api).filter((l) => !l.oneSender && l.framesPerSecond === TARGETS.framesPerSecond);
  const level = atRate.sort((a, b) => b.seconds - a.seconds)[0];
  const verdict = (pass: boolean) => (pass ? '**PASS**' : '**FAIL**');
  const lines: string[] = [];
  if (!level) lines.push(`**NOT MEASURED**: no level ran at ${TARGETS.framesPerSecond} frames/s (BENCH_LOAD_STEPS, the open-loop levels).`);
  else {
    const at = `at ${TARGETS.framesPerSecond} frames/s (${fixed(level.seconds, 0)} s)`;
    lines.push(
      `${verdict(level.serverCpuMsPerFrame <= TARGETS.cpuMsPerFrame)} API CPU per frame <= ${TARGETS.cpuMsPerFrame} ms ${at}: ${fixed(level.serverCpuMsPerFrame, 2)} ms`,
    );
    const refused = level.sent - level.answered - level.lost;
    lines.push(
      `${verdict(level.p99 <= TARGETS.p99Ms && level.lost === 0 && level.seconds >= TARGETS.seconds)} p99 <= ${TARGETS.p99Ms} ms ${at}, for at least ${TARGETS.seconds} s, every frame answered or refused with a 503: p99 ${fixed(level.p99)} ms; ${level.answered} of ${level.sent} answered, ${refused} refused with a 503, ${level.lost} timed out or otherwise lost${level.seconds < TARGETS.seconds ? `; ran only ${fixed(level.seconds, 0)} s` : ''}`,
    );
  }
  const stalls = levelsOf(api)
    .map((l) => l.stallMs)
    .filter((ms): ms is number => ms !== undefined);
  lines.push(
    stalls.length === 0
      ? `**NOT MEASURED** longest event-loop stall < ${TARGETS.stallMs} ms: the API exports no ${STALL_GAUGE}`
      : `${verdict(Math.max(...stalls) < TARGETS.stallMs)} longest event-loop stall during the run < ${TARGETS.stallMs} ms: ${fixed(Math.max(...stalls))} ms`,
  );
  return lines;
}
