import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { driveParkingRuns } from '../../edge/cli.js';
import { runParking } from '../../edge/parkingRun.js';
import { RoverClient, type PredictResult } from '../../edge/roverClient.js';
import { apiClient, startedRun, waitForRecords, type ApiCall } from '../../scripts/apiClient.js';
import { buildConsole } from '../../scripts/buildConsole.js';
import { spawnApi, type ApiProcess } from './apiProcess.js';
import { within } from './deadline.js';
import { freePort, startDevServer, type DevServer } from './temporalEnv.js';
import { spawnWorker } from './workerProcess.js';

/**
 * A small but real world for the console's browser tests, screenshots and developers: this repository's Temporal dev
 * server, API and workers as separate processes (as `npm start` runs them, embedded stores in a temp data folder),
 * filled through the HTTP API only, with frames the rover's own code renders and labels:
 *
 * - model `distance`, a training config whose sweep trains in seconds (20x15 px, two trials of 4 epochs);
 * - deployment `yard` (direct, latest) with one rover, `hall` (canary, latest) with two, on a beige floor;
 * - a manual retrain -> v1, served by both;
 * - `yard`'s floor turns green and its range grows to 350 mm; a drift check (POST /models/distance/monitor/check)
 *   finds it and asks for a retrain -> v2, registered by the monitor's run: `yard` serves it at once, and `hall`
 *   runs a Rollout of v2 whose canary stage needs more evidence than it will ever get, so it runs until aborted.
 */
export const MODEL = 'distance';
export const YARD = 'yard';
export const HALL = 'hall';

/** The floor each deployment's rovers drive on, once the world is built. */
const FLOORS = { before: 'beige-250', yardAfter: 'green-350' } as const;

const ROVERS: Record<string, string[]> = { [YARD]: ['yard-rover'], [HALL]: ['hall-rover-1', 'hall-rover-2'] };

/** What the canary on `hall` needs before it may decide: more than any test drives, for longer than any test runs. */
const ENDLESS_CANARY = { minFrames: 1_000_000, minMinutes: 7 * 24 * 60, maxMinutes: 7 * 24 * 60 };

export interface ConsoleWorldOptions {
  /** Progress lines while the world is built (default: none). */
  log?: (line: string) => void;
  /** The API's ADMIN_TOKEN (default: a random one, so a test can look for it in the API's output). */
  adminToken?: string;
  /** The API's LOG_LEVEL (default info: its access log, one line per request). */
  apiLogLevel?: string;
}

export interface TrainingRun {
  version: number;
  requestId: number;
  workflowId: string;
  runId: string;
}

export interface ConsoleWorld {
  apiUrl: string;
  consoleUrl: string;
  adminToken: string;
  /** The Temporal frontend (host:port) the API and workers use. */
  temporalAddress: string;
  /** The data folder of the embedded stores (registry, measurements, objects) the API and workers share. */
  dataDir: string;
  /** The API with the admin token. */
  api: ApiCall;
  /** What the API process wrote to stdout and stderr so far (its JSON log lines). */
  apiOutput(): string;
  made: {
    model: string;
    deployments: { yard: string; hall: string };
    rovers: Record<string, string[]>;
    /** The manual retrain that made v1. */
    v1: TrainingRun;
    /** The drift monitor's retrain that made v2. */
    v2: TrainingRun;
    /** The drift check on `yard` whose verdict asked for v2's retrain. */
    driftCheck: { time: string; verdict: string; kinds: string[] };
    /** The Rollout of v2 on `hall`, running when the world is handed over. */
    rollout: { deploymentId: string; candidateVersion: number; workflowId: string; runId: string };
    /** Every request id /predict answered while the world was built. */
    requestIds: string[];
  };
  /** Seconds each step of the build took, in order. */
  timings: [string, number][];
  /**
   * Frames from one rover (by its id) or from every rover of a deployment (by its id, taking turns), on the floor the
   * world put there, about `framesPerSecond` in all, until the returned function is called (it resolves once the
   * rovers have stopped).
   */
  drive(deploymentOrRover: string, options: { framesPerSecond: number }): () => Promise<void>;
  /** Stops the drives, the API, the workers and the dev server, and removes the data folder. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A child's output, the last `limit` characters of it, so a failure can say what the process said. */
function tail(child: ChildProcess, limit = 20_000): () => string {
  let text = '';
  const keep = (d: Buffer) => {
    text = (text + d.toString()).slice(-limit);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text;
}

async function stopChild(child: ChildProcess, graceSeconds: number) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceSeconds * 1000);
  await exited;
  clearTimeout(timer);
}

export async function startConsoleWorld(options: ConsoleWorldOptions = {}): Promise<ConsoleWorld> {
  const log = options.log ?? (() => {});
  const adminToken = options.adminToken ?? `admin-${randomBytes(16).toString('hex')}`;
  const timings: [string, number][] = [];
  const startedAt = performance.now();
  let stepAt = startedAt;
  const step = (label: string) => {
    const now = performance.now();
    timings.push([label, (now - stepAt) / 1000]);
    log(`${label}: ${((now - stepAt) / 1000).toFixed(1)} s`);
    stepAt = now;
  };

  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'console-world-'));
  let server: DevServer | undefined;
  let apiProcess: ApiProcess | undefined;
  let worker: ChildProcess | undefined;
  let workerOutput = () => '';
  const drives = new Set<() => Promise<void>>();
  const stop = async () => {
    await Promise.all([...drives].map((stopDrive) => stopDrive()));
    await apiProcess?.stop();
    if (worker) await stopChild(worker, 20);
    await server?.kill();
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    await buildConsole({ ifStale: true });
    server = await startDevServer(await freePort(), path.join(dataDir, 'temporal.db'));
    const env = { DATA_DIR: dataDir, TEMPORAL_ADDRESS: server.address, ADMIN_TOKEN: adminToken };
    worker = spawnWorker({ ...env, LOG_LEVEL: 'warn', SWEEP_PARALLELISM: '2', ML_THREADS_PER_TRIAL: '1' }, 'pipe');
    workerOutput = tail(worker);
    apiProcess = await spawnApi({ ...env, LOG_LEVEL: options.apiLogLevel ?? 'info', REGISTRY_CACHE_TTL_MS: '500' });
    const apiUrl = apiProcess.url;
    const api = apiClient(apiUrl, adminToken);
    await within(180, 'the API ready with its workers polling', async () => {
      if (worker!.exitCode !== null) throw new Error(`the workers exited with ${worker!.exitCode}:\n${workerOutput()}`);
      const res = await fetch(`${apiUrl}/readyz`);
      if (!res.ok) throw new Error(`/readyz answers ${res.status}: ${await res.text()}`);
    });
    step('processes up (Temporal dev server, API, workers)');

    await api('POST', '/deployments', { id: YARD, modelName: MODEL, modelVersion: 'latest', strategy: 'direct' });
    await api('POST', '/deployments', {
      id: HALL,
      modelName: MODEL,
      modelVersion: 'latest',
      strategy: 'canary',
      rolloutPolicy: { canaryShare: 0.5, canary: ENDLESS_CANARY, checkSeconds: 5 },
    });
    const tokens = new Map<string, string>();
    for (const [deploymentId, ids] of Object.entries(ROVERS))
      for (const id of ids) tokens.set(id, (await api('POST', '/clients', { id, name: `${deploymentId} rover`, deploymentId })).token);
    await api('PUT', `/models/${MODEL}/training-config`, {
      deployments: [YARD, HALL],
      width: 20,
      height: 15,
      sweep: { epochs: [4], batchSizes: [16, 32], dropouts: [0.1] },
      registerPolicy: 'always',
    });
    // One check decides on the frames the world sends: no scheduled check in between, a window that holds them all.
    await api('PUT', `/models/${MODEL}/monitor`, { intervalSeconds: 86_400, windowMinutes: 60, minFrames: 50 });

    const requestIds: string[] = [];
    const floors = new Map<string, string>([
      [YARD, FLOORS.before],
      [HALL, FLOORS.before],
    ]);
    const roverClient = (id: string) => new RoverClient({ apiUrl, clientId: id, token: tokens.get(id)! });
    /** Parking runs by the deployment's rovers, until the API has stored every frame they sent. */
    const park = async (deploymentId: string, runs: number, seed: number) => {
      const before = (await api('GET', `/deployments/${deploymentId}/stats`)).stats.count;
      // Each rover drives its own runs, one at a time, as a rover does: one laser read from two runs at once (their
      // frames interleaved) looks like spikes to the sensor-health check, whenever the model does not follow the laser.
      const rovers = ROVERS[deploymentId].map(roverClient).map((rover) => ({
        predict: async (input: Parameters<typeof rover.predict>[0]) => {
          const answer = await rover.predict(input);
          if (answer.ok) requestIds.push(answer.requestId);
          return answer;
        },
      }));
      const summary = await driveParkingRuns({
        apiUrl,
        clientId: ROVERS[deploymentId][0],
        token: tokens.get(ROVERS[deploymentId][0])!,
        rovers,
        preset: floors.get(deploymentId)!,
        runs,
        seed,
        log: () => {},
      });
      const unexpected = Object.entries(summary.errors).filter(([code]) => code !== 'no_model');
      if (unexpected.length) throw new Error(`${deploymentId}'s rovers saw errors: ${JSON.stringify(Object.fromEntries(unexpected))}`);
      await waitForRecords(api, deploymentId, before + summary.answered + (summary.errors.no_model ?? 0), 60_000);
      return summary;
    };
    const trained = async (requestId: number, run: { workflowId: string; runId: string }): Promise<TrainingRun> => {
      const status = await within(
        300,
        `training run ${run.workflowId}/${run.runId}`,
        async () => {
          const answer = await api('GET', `/workflows/${run.workflowId}/runs/${run.runId}`);
          if (answer.status === 'RUNNING') throw new Error(`still running: ${JSON.stringify(answer.progress ?? {})}`);
          return answer;
        },
        1000,
      );
      const result = status.result;
      if (status.status !== 'COMPLETED' || !result) throw new Error(`${run.workflowId} ended ${status.status}:\n${workerOutput()}`);
      if (!result.registration.registered) throw new Error(`${run.workflowId} registered nothing: ${result.registration.reason}`);
      return { version: result.registration.version, requestId, ...run };
    };
    const serves = (deploymentId: string, version: number) =>
      within(60, `${deploymentId} serving v${version}`, async () => {
        const { deployment } = await api('GET', `/deployments/${deploymentId}`);
        if (deployment.currentVersion !== version) throw new Error(`it serves v${deployment.currentVersion}`);
      });
    step('deployments, rovers, training and monitor config');

    await Promise.all([park(YARD, 8, 1), park(HALL, 6, 2)]);
    step('frames on a beige floor (no model yet)');

    const manual = await api('POST', `/models/${MODEL}/retrain`, { by: 'console world: the first model' });
    const v1 = await trained(manual.requestId, startedRun(manual));
    await Promise.all([serves(YARD, v1.version), serves(HALL, v1.version)]);
    step(`manual retrain -> v${v1.version}`);

    floors.set(YARD, FLOORS.yardAfter);
    await park(YARD, 4, 3);
    step(`frames on ${YARD}'s new floor (${FLOORS.yardAfter}), answered by v${v1.version}`);

    // The API writes its drift summaries every 10 s: a check asked before that sees none of the frames just sent, so
    // one that found too few frames is asked again.
    let checkSent = Date.now();
    await api('POST', `/models/${MODEL}/monitor/check`);
    const driftCheck = await within(120, `a drift check of ${YARD} that saw its frames`, async () => {
      const [check] = (await api('GET', `/deployments/${YARD}/drift?limit=1`)).checks;
      if (!check || Date.parse(check.time) < checkSent - 1000) throw new Error('no check yet');
      if (check.verdict === 'insufficient-data') {
        checkSent = Date.now();
        await api('POST', `/models/${MODEL}/monitor/check`);
        throw new Error(`the check found ${check.summary}; asked again`);
      }
      return check;
    });
    if (driftCheck.verdict !== 'drift') throw new Error(`the drift check of ${YARD} found ${driftCheck.verdict}: ${driftCheck.summary}`);
    const ask = await within(60, `the drift monitor's retrain request for ${YARD}`, async () => {
      const { requests } = await api('GET', `/models/${MODEL}/retrain-requests`);
      const found = requests.find((r) => r.trigger === 'drift-monitor' && r.runId);
      if (!found) throw new Error(`requests: ${requests.map((r) => `${r.id} ${r.trigger} ${r.outcome}`).join(', ')}`);
      return found;
    });
    step(`drift check: ${driftCheck.verdict} (${driftCheck.kinds.join(' + ')}), retrain request #${ask.id}`);

    const v2 = await trained(ask.id, { workflowId: ask.workflowId!, runId: ask.runId! });
    await serves(YARD, v2.version);
    const rollout = await within(60, `the Rollout of v${v2.version} on ${HALL}`, async () => {
      const { workflow } = await api('GET', `/deployments/${HALL}/rollout`);
      if (workflow?.status !== 'RUNNING' || workflow.state?.candidateVersion !== v2.version || !workflow.runId)
        throw new Error(`rollout: ${JSON.stringify(workflow)}`);
      return { deploymentId: HALL, candidateVersion: v2.version, workflowId: workflow.workflowId, runId: workflow.runId };
    });
    step(`drift retrain -> v${v2.version}; ${YARD} serves it, ${HALL} rolls it out`);
    timings.push(['total', (performance.now() - startedAt) / 1000]);

    const drive = (deploymentOrRover: string, { framesPerSecond }: { framesPerSecond: number }) => {
      const deploymentId = ROVERS[deploymentOrRover]
        ? deploymentOrRover
        : Object.keys(ROVERS).find((d) => ROVERS[d].includes(deploymentOrRover));
      if (!deploymentId) throw new Error(`no deployment or rover "${deploymentOrRover}" in the world`);
      const rovers = (ROVERS[deploymentOrRover] ?? [deploymentOrRover]).map(roverClient);
      const intervalMs = 1000 / framesPerSecond;
      let stopped = false;
      let turn = 0;
      let nextAt = performance.now();
      const send = async (input: { jpeg: Buffer; sensorMm: number | null }): Promise<PredictResult | { ok: false; code: string }> => {
        if (stopped) return { ok: false, code: 'stopped' };
        nextAt = Math.max(nextAt + intervalMs, performance.now());
        await sleep(nextAt - performance.now());
        return rovers[turn++ % rovers.length].predict(input);
      };
      const running = (async () => {
        for (let seed = 1000; !stopped; seed++)
          await runParking({ preset: floors.get(deploymentId)!, seed, maxInFlight: 1, send: (frame) => send(frame) });
      })();
      const stopDrive = async () => {
        stopped = true;
        await running;
        drives.delete(stopDrive);
      };
      drives.add(stopDrive);
      return stopDrive;
    };

    return {
      apiUrl,
      consoleUrl: `${apiUrl}/console/`,
      adminToken,
      temporalAddress: server.address,
      dataDir,
      api,
      apiOutput: () => apiProcess!.output(),
      made: {
        model: MODEL,
        deployments: { yard: YARD, hall: HALL },
        rovers: ROVERS,
        v1,
        v2,
        driftCheck: { time: driftCheck.time, verdict: driftCheck.verdict, kinds: driftCheck.kinds },
        rollout,
        requestIds,
      },
      timings,
      drive,
      stop,
    };
  } catch (err) {
    const said = `\n--- API output ---\n${apiProcess?.output().slice(-5000) ?? ''}\n--- workers' output ---\n${workerOutput().slice(-5000)}`;
    await stop();
    throw new Error(`the console world could not be built: ${(err as Error).message}${said}`, { cause: err });
  }
}
