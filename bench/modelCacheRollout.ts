/**
 * Model loads during a rollout with a third version pinned elsewhere (`npx tsx bench/modelCacheRollout.ts`): one
 * model, three versions in use at once. Deployment `pinned` serves v1 to its rovers; deployment `fleet` serves v2 to
 * its rovers but one, a canary that v3 answers, and each of v2 and v3 predicts the other's frames in shadow. Rovers
 * send a frame every 250 ms (open loop) to a real API process on embedded stores for BENCH_SECONDS; prints the
 * model loads per minute (the API's 'model loaded' log lines) and the client-side latency of the answers.
 * BENCH_API_ROOT runs another checkout's api/server.ts (e.g. the code before a change), with the same stores.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { hashToken } from '../api/auth.js';
import { API_NODE_FLAGS } from '../api/nodeFlags.js';
import { loadConfig } from '../core/config.js';
import { buildModel } from '../core/ml/architectures.js';
import { loadBackend } from '../core/ml/backend.js';
import { putModel, serializeModel } from '../core/ml/modelArtifact.js';
import type { Stores } from '../core/stores/index.js';
import { markdownTable } from './markdownTable.js';
import { percentile } from './roverReplay.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 120);
const ARCHITECTURE = process.env.BENCH_ARCHITECTURE ?? 'thesis-inception';
const [WIDTH, HEIGHT] = ARCHITECTURE === 'thesis-inception' ? [100, 75] : [64, 48];
const FRAME_INTERVAL_MS = 250;
const API_ROOT = path.resolve(process.env.BENCH_API_ROOT ?? '.');

const rovers = [
  ...['p0', 'p1'].map((id) => ({ id: `rover-${id}`, deployment: 'pinned' })),
  ...['f0', 'f1', 'f2', 'f3'].map((id) => ({ id: `rover-${id}`, deployment: 'fleet' })),
];
const CANARY = 'rover-f0';
const tokenOf = (rover: string) => `token-${rover}-0123456789`;

async function registerVersion(stores: Stores, run: number) {
  const { tf, name } = await loadBackend('auto');
  const model = buildModel(tf, ARCHITECTURE, { width: WIDTH, height: HEIGHT, dropout: 0.1, learningRate: 0.001 });
  const serialized = await serializeModel(tf, model, {
    architecture: ARCHITECTURE,
    width: WIDTH,
    height: HEIGHT,
    labelMaxMm: 350,
    backend: name,
  });
  model.dispose();
  const prefix = `runs/bench/run-${run}/trials/0/model`;
  await putModel(stores.objects, prefix, serialized);
  await stores.registry.saveTrial({
    id: `run-${run}-t0`,
    workflowId: 'bench',
    runId: `run-${run}`,
    modelName: 'distance',
    params: { epochs: 1 },
    metrics: { test_mae_mm: 10 },
    history: {},
    artifactKey: prefix,
    artifactSha256: serialized.sha256,
    datasetKey: 'runs/bench/dataset/manifest.json',
  });
  return stores.registry.registerModelVersion({
    modelName: 'distance',
    artifactKey: prefix,
    artifactSha256: serialized.sha256,
    architecture: ARCHITECTURE,
    metrics: { test_mae_mm: 10 },
    params: { epochs: 1 },
    trialId: `run-${run}-t0`,
    workflowId: 'bench',
    runId: `run-${run}`,
    datasetKey: 'runs/bench/dataset/manifest.json',
    datasetSha256: 'x'.repeat(64),
    sourceDeployments: ['fleet'],
    recordCount: 1,
    comparison: null,
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-model-cache-'));
  // The API opens the same embedded stores from its DATA_DIR; they are made by its own code (its migrations).
  const { openStores, closeStores } = (await import(
    path.join(API_ROOT, 'core/stores/index.ts')
  )) as typeof import('../core/stores/index.js');
  const stores = await openStores(loadConfig({ DATA_DIR: dir }));
  await registerVersion(stores, 1);
  await registerVersion(stores, 2);
  await stores.registry.createDeployment({ id: 'pinned', modelName: 'distance', modelVersion: 1, strategy: 'direct' });
  await stores.registry.createDeployment({ id: 'fleet', modelName: 'distance', modelVersion: 'latest', strategy: 'canary' });
  const v3 = await registerVersion(stores, 3);
  await stores.registry.setRolloutStage('fleet', {
    candidateVersion: v3.version,
    stage: 'canary',
    canaryClients: [CANARY],
    workflowId: 'bench',
    note: null,
  });
  for (const r of rovers)
    await stores.registry.createClient({ id: r.id, name: r.id, tokenHash: hashToken(tokenOf(r.id)), deploymentId: r.deployment });
  await closeStores(stores);

  const port = await freePort();
  const api = spawn(process.execPath, [...API_NODE_FLAGS, '--import', 'tsx', 'api/server.ts'], {
    cwd: API_ROOT,
    env: {
      ...process.env,
      DATA_DIR: dir,
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const loads: number[] = [];
  let pending = '';
  api.stdout!.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (line.includes('"model loaded"')) loads.push(Date.now());
  });
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 90_000; ;) {
    if ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok) break;
    if (Date.now() > deadline || api.exitCode !== null) throw new Error('the API did not start');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  const jpeg = await sharp({ create: { width: 160, height: 120, channels: 3, background: { r: 180, g: 160, b: 120 } } })
    .jpeg()
    .toBuffer();
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const startedAt = Date.now();
  const until = startedAt + SECONDS * 1000;
  const send = async (rover: string) => {
    const body = new FormData();
    body.set('image', new Blob([jpeg], { type: 'image/jpeg' }), 'frame.jpg');
    const t0 = performance.now();
    const status = await fetch(`${url}/predict`, { method: 'POST', headers: { authorization: `Bearer ${tokenOf(rover)}` }, body })
      .then(async (res) => (await res.arrayBuffer(), res.status))
      .catch(() => 0);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if (status === 200) latencies.push(performance.now() - t0);
  };
  await Promise.all(
    rovers.map(async (rover, i) => {
      const inFlight: Promise<void>[] = [];
      for (let next = startedAt + (i * FRAME_INTERVAL_MS) / rovers.length; next < until; next += FRAME_INTERVAL_MS) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
        inFlight.push(send(rover.id));
      }
      await Promise.all(inFlight);
    }),
  );
  const minutes = (Date.now() - startedAt) / 60_000;
  api.kill('SIGTERM');
  await new Promise((resolve) => api.once('exit', resolve));
  fs.rmSync(dir, { recursive: true, force: true });

  latencies.sort((a, b) => a - b);
  const ms = (p: number) => percentile(latencies, p).toFixed(0);
  const firstLoads = loads.filter((at) => at - startedAt < 10_000).length;
  console.log(
    markdownTable(
      ['API', 'seconds', 'answers (by status)', 'model loads', 'loads after the first 10 s, per minute', 'p50 ms', 'p99 ms', 'max ms'],
      [
        [
          API_ROOT === path.resolve('.') ? 'this checkout' : API_ROOT,
          String(SECONDS),
          [...statuses].map(([s, n]) => `${n} x ${s}`).join(', '),
          String(loads.length),
          ((loads.length - firstLoads) / Math.max(minutes - 10 / 60, 1 / 60)).toFixed(1),
          ms(50),
          ms(99),
          latencies.at(-1)!.toFixed(0),
        ],
      ],
    ),
  );
}

await main();
