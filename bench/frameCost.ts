/**
 * Where one frame's CPU goes: each stage of /predict and of the analysis after the answer, run in this
 * process on the recorded frames, one call after the other. Wall time per call (performance.now) and
 * CPU time per call (process.cpuUsage: every thread of the process, so TensorFlow's, libuv's and the
 * analysis pool's threads count too). Batched stages are reported per frame (the call divided by the batch).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance as nodePerformance } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';
import type { Request as ExpressRequest, Response as ExpressResponse } from 'express';
import multer from 'multer';
import sharp from 'sharp';
import type { LayersModel, Tensor, Tensor4D } from '@tensorflow/tfjs';
import { FrameSpool } from '../ingest/frameSpool.js';
import type { ImageCharacteristics } from '../core/features/fields.js';
import { ImageAnalysisPool } from '../core/features/imageAnalysisPool.js';
import { computeImageCharacteristics, DEFAULT_ANALYSIS_WIDTH, decodeForAnalysis } from '../core/features/imageCharacteristics.js';
import { buildModel } from '../core/ml/architectures.js';
import { loadBackend } from '../core/ml/backend.js';
import { compileForServing } from '../core/ml/fastPredict.js';
import { decodeImage, imageToPixels, pixelsForModel } from '../core/ml/imagePixels.js';
import { unscaleLabel } from '../core/ml/labels.js';
import { pixelsToTensor } from '../core/ml/train.js';
import { GRAPH_PREPROCESSING, serializeModel, type ModelMetadata } from '../core/ml/modelArtifact.js';
import { InferenceEngine } from '../serving/inferenceEngine.js';
import { FolderObjects } from '../core/stores/folderObjects.js';
import type { InferenceRecord } from '../core/stores/measurements.js';
import { openMeasurements } from '../core/stores/index.js';
import type { EdgeFrame } from '../edge/parkingRun.js';
import { hashToken } from '../api/auth.js';
import { authenticateRover } from '../api/roverAuth.js';
import { checkFrame } from '../core/features/imageGate.js';
import type { RegisteredClient, RegistryStore } from '../core/stores/registry.js';
import { RegistryLookups } from '../serving/registryLookups.js';
import { multipartBody } from './frameSender.js';
import { fixed, markdownTable } from './markdownTable.js';
import { percentile } from './roverReplay.js';
import type { FrameCostSettings } from './settings.js';

export interface StageCost {
  stage: string;
  /** Frames one call handles; the times are per frame. */
  batch: number;
  calls: number;
  wallMs: { p50: number; p90: number; mean: number };
  cpuMs: { p50: number; p90: number; mean: number };
  /** The sums of one frame's work it counts in, e.g. the API before issue 11's cuts and as it does it now. */
  sums: string[];
}

export interface FrameCostResults {
  backend: string;
  frameBytes: number;
  stages: StageCost[];
  loadAverage: { start: number[]; end: number[] };
}

export const LABEL_MAX_MM = 350;
export const WARM_UP_CALLS = 5;

const BEFORE = ['before'];
const NOW = ['now'];
const BOTH = ['before', 'now'];

/** The multipart body RoverClient sends, as bytes and its content type. */
const multipartOf = (frame: EdgeFrame) => multipartBody(frame, { clientId: 'rover-1' });

/** multer as /predict configures it, on a request stream carrying the body (no socket, no HTTP parser). */
function multipartParser() {
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: 2 * 1024 * 1024, files: 1, fields: 8, fieldSize: 1024, parts: 10, headerPairs: 20 },
  }).single('image');
  return (body: Buffer, contentType: string) =>
    new Promise<void>((resolve, reject) => {
      const req = Object.assign(new PassThrough(), {
        headers: { 'content-type': contentType, 'content-length': String(body.length) },
      }) as unknown as ExpressRequest;
      upload(req, {} as ExpressResponse, (err?: unknown) => {
        if (err) return reject(err as Error);
        if (!(req as ExpressRequest & { file?: { buffer: Buffer } }).file?.buffer.length)
          return reject(new Error('multipart: no image parsed'));
        resolve();
      });
      (req as unknown as PassThrough).end(body);
    });
}

function summary(values: number[]) {
  return { p50: percentile(values, 50), p90: percentile(values, 90), mean: values.reduce((s, v) => s + v, 0) / values.length };
}

async function timeStage(
  stage: string,
  options: { calls: number; batch?: number; sums: string[] },
  call: (i: number) => Promise<unknown> | unknown,
): Promise<StageCost> {
  const batch = options.batch ?? 1;
  for (let i = 0; i < WARM_UP_CALLS; i++) await call(i);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < options.calls; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await call(i);
    const used = process.cpuUsage(c0);
    wall.push((performance.now() - t0) / batch);
    cpu.push((used.user + used.system) / 1000 / batch);
  }
  return { stage, batch, calls: options.calls, wallMs: summary(wall), cpuMs: summary(cpu), sums: options.sums };
}

/**
 * The model server's path since issue 26: a micro-batch is one message to the inference thread and one native call
 * there. Process CPU counts both threads; the log line beside each row gives the API thread's own share (its event
 * loop's active time per frame, performance.eventLoopUtilization).
 */
async function inferenceThreadStages(
  model: LayersModel,
  size: { width: number; height: number },
  frames: EdgeFrame[],
  calls: number,
  run: (...args: Parameters<typeof timeStage>) => Promise<void>,
  log: (line: string) => void,
  jpegSums: string[],
) {
  const { tf, name } = await loadBackend();
  const engine = new InferenceEngine();
  try {
    const meta: ModelMetadata = { architecture: 'thesis-inception', ...size, labelMaxMm: LABEL_MAX_MM, backend: name };
    const options = { label: 'bench', layersOnly: false, warmShapes: [1, 2, 4, 8] };
    const load = async (metadata: ModelMetadata) => {
      const files = await serializeModel(tf, model, metadata);
      return engine.load(files, { ...options, artifactSha256: files.sha256 });
    };
    const pixelModel = await load(meta);
    const jpegModel = await load({ ...meta, preprocessing: GRAPH_PREPROCESSING });
    const batchOf = (i: number, n: number) => Array.from({ length: n }, (_, k) => ({ jpeg: frames[(i * n + k) % frames.length].jpeg }));
    const rows = [
      {
        model: jpegModel,
        batch: 8,
        stage: `inference thread, ${jpegModel.path} path: JPEG decode + resize + predict in one call, batch 8`,
        sums: jpegSums,
      },
      {
        model: jpegModel,
        batch: 1,
        stage: `inference thread, ${jpegModel.path} path: JPEG decode + resize + predict in one call, batch 1`,
      },
      {
        model: pixelModel,
        batch: 8,
        stage: `inference thread, ${pixelModel.path} path: sharp decode + resize in the thread, then the graph, batch 8`,
      },
    ];
    for (const row of rows) {
      const before = nodePerformance.eventLoopUtilization();
      const n = row.batch === 1 ? calls * 8 : calls;
      await run(`${row.stage} (per frame; both threads)`, { calls: n, batch: row.batch, sums: row.sums ?? [] }, (i) =>
        engine.predict(row.model, batchOf(i, row.batch)),
      );
      const used = nodePerformance.eventLoopUtilization(before);
      // The warm-up calls ran too: the API thread's time is over every call of the row.
      const frameCount = (n + WARM_UP_CALLS) * row.batch;
      log(`frame cost: ${row.stage}: the API thread's own time ${fixed(used.active / frameCount, 3)} ms per frame`);
    }
  } finally {
    await engine.close();
  }
}

function recordOf(frame: EdgeFrame, i: number, characteristics: ImageCharacteristics): InferenceRecord {
  return {
    time: Date.now(),
    deployment: 'bench-cost',
    client: 'rover-1',
    modelName: 'bench-cost',
    modelVersion: 1,
    prediction: 123.4,
    sensorValue: frame.sensorMm,
    error: frame.sensorMm === null ? null : Math.abs(123.4 - frame.sensorMm),
    latencyMs: 12.3,
    imageKey: `features/bench-cost/${i}.jpg`,
    characteristics,
    shadow: null,
  };
}

export async function benchmarkFrameCost(
  settings: FrameCostSettings,
  frames: EdgeFrame[],
  log: (line: string) => void,
): Promise<FrameCostResults> {
  const loadStart = os.loadavg();
  const { tf, name: backend } = await loadBackend();
  // Models trained since issue 26 are served from their JPEG in one call of the inference thread where native TensorFlow
  // runs (the stack below registers its model so): that row counts in the sum of now, sharp's decode and resize do not.
  const jpegServes = backend === 'tensorflow';
  const sharpSums = jpegServes ? [] : NOW;
  const { width, height } = settings.input;
  const model = buildModel(tf, 'thesis-inception', { width, height, dropout: 0.1, learningRate: 1e-3, seed: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-cost-'));
  const pool = new ImageAnalysisPool();
  const measurements = await openMeasurements(`sqlite:${path.join(dir, 'measurements.db')}`);
  const { spool } = await FrameSpool.open<Omit<InferenceRecord, 'characteristics'>>({
    dir: path.join(dir, 'spool'),
    maxBytes: 4 * 1024 ** 3,
  });
  const objects = new FolderObjects(path.join(dir, 'objects'));
  const calls = settings.repetitions;
  const frameAt = (i: number) => frames[i % frames.length];
  const stages: StageCost[] = [];
  const run = async (...args: Parameters<typeof timeStage>) => {
    log(`frame cost: ${args[0]}`);
    stages.push(await timeStage(...args));
  };
  try {
    const bodies = await Promise.all(frames.map(multipartOf));
    const parse = multipartParser();
    const pixels = await Promise.all(frames.map((f) => imageToPixels(f.jpeg, settings.input)));
    const characteristics = await Promise.all(frames.slice(0, 32).map((f) => computeImageCharacteristics(f.jpeg)));
    const framePixels = width * height * 3;
    const batchOf = (i: number, size: number) => {
      const joined = new Uint8Array(framePixels * size);
      for (let k = 0; k < size; k++) joined.set(pixels[(i * size + k) % pixels.length], k * framePixels);
      return joined;
    };
    const predict = async (input: Uint8Array, size: number, run = (x: Tensor4D) => model.predict(x) as Tensor) => {
      const out = tf.tidy(() => run(pixelsToTensor(tf, input, size, height, width) as Tensor4D).reshape([-1]));
      const units = await out.data();
      out.dispose();
      return units;
    };
    // The model as the model server runs it: one frozen TensorFlow graph.
    const graph = await compileForServing(tf, model);
    const predictGraph = (input: Uint8Array, size: number) => predict(input, size, (x) => graph.predict(x));

    await run('multipart parse (multer, memory storage)', { calls, sums: BOTH }, (i) => {
      const { body, contentType } = bodies[i % bodies.length];
      return parse(body, contentType);
    });
    await run("image header check by sharp (checkFrame until issue 26: sharp metadata, in libuv's pool)", { calls, sums: [] }, (i) =>
      sharp(Buffer.from(frameAt(i).jpeg), { limitInputPixels: false }).metadata(),
    );
    const jpegs = frames.map((f) => Buffer.from(f.jpeg));
    await run("image header check (checkFrame: the JPEG's segments read on the main thread)", { calls, sums: NOW }, (i) =>
      checkFrame(jpegs[i % jpegs.length]),
    );
    const token = 'bench-cost-token-0123456789';
    const client = { id: 'rover-1', tokenHash: hashToken(token), deploymentId: 'bench' } as RegisteredClient;
    const registry = { getClient: async () => client, listClients: async () => [client], getDeployment: async () => ({ id: 'bench' }) };
    const lookups = new RegistryLookups(registry as unknown as RegistryStore, { ttlMs: 3_600_000, log: console });
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    const request = { get: (name: string) => headers[name.toLowerCase()] } as unknown as ExpressRequest;
    await run('rover authentication and deployment lookup (token hash, RegistryLookups from its cache)', { calls, sums: NOW }, async () => {
      await authenticateRover(request, lookups);
      await lookups.deployment('bench');
    });
    await run(`JPEG decode + resize to ${width}x${height} in one pipeline (imageToPixels, sharp)`, { calls, sums: BEFORE }, (i) =>
      imageToPixels(frameAt(i).jpeg, settings.input),
    );
    await run('JPEG decode at its own size, once for the model and the analysis (decodeImage, sharp)', { calls, sums: sharpSums }, (i) =>
      decodeImage(frameAt(i).jpeg),
    );
    const decoded = await Promise.all(frames.map((f) => decodeImage(f.jpeg)));
    await run(`decoded pixels resized to ${width}x${height} (pixelsForModel, sharp raw in)`, { calls, sums: sharpSums }, (i) =>
      pixelsForModel({ jpeg: frameAt(i).jpeg, rgb: decoded[i % decoded.length] }, settings.input),
    );
    await run('tensor + predict + read, batch 1 (layers model.predict)', { calls, sums: BEFORE }, (i) =>
      predict(pixels[i % pixels.length], 1),
    );
    await run(`tensor + predict + read, batch 1 (${graph.path} path of compileForServing)`, { calls, sums: [] }, (i) =>
      predictGraph(pixels[i % pixels.length], 1),
    );
    await run('unscale', { calls, sums: BOTH }, (i) => unscaleLabel(i / calls, LABEL_MAX_MM));
    const batched8 = Array.from({ length: Math.max(4, Math.ceil(calls / 8)) }, (_, i) => batchOf(i, 8));
    await run('tensor + predict + read, batch 8 (layers model.predict, per frame)', { calls: batched8.length, batch: 8, sums: [] }, (i) =>
      predict(batched8[i % batched8.length], 8),
    );
    await run(
      `tensor + predict + read, batch 8 (${graph.path} path, per frame; micro-batched under load)`,
      { calls: batched8.length, batch: 8, sums: sharpSums },
      (i) => predictGraph(batched8[i % batched8.length], 8),
    );
    await inferenceThreadStages(model, settings.input, frames, batched8.length, run, log, jpegServes ? NOW : []);
    const batched32 = Array.from({ length: Math.max(4, Math.ceil(calls / 32)) }, (_, i) => batchOf(i, 32));
    await run('tensor + predict + read, batch 32 (per frame)', { calls: batched32.length, batch: 32, sums: [] }, (i) =>
      predict(batched32[i % batched32.length], 32),
    );
    await run('spool append (FrameSpool, fdatasync per append)', { calls, sums: BOTH }, async (i) => {
      const { characteristics: _c, ...meta } = recordOf(frameAt(i), i, characteristics[0]);
      const entry = await spool.append(meta, frameAt(i).jpeg);
      await spool.ack(entry);
    });
    await run('image characteristics, main thread (computeImageCharacteristics)', { calls, sums: [] }, (i) =>
      computeImageCharacteristics(frameAt(i).jpeg),
    );
    await run(`of which the decode for the analysis (decodeForAnalysis, ${DEFAULT_ANALYSIS_WIDTH} wide)`, { calls, sums: [] }, (i) =>
      decodeForAnalysis(frameAt(i).jpeg, DEFAULT_ANALYSIS_WIDTH),
    );
    await run('image characteristics of the JPEG, worker-thread pool', { calls, sums: BEFORE }, (i) =>
      pool.characteristicsOf(frameAt(i).jpeg),
    );
    await run('image characteristics of the decoded pixels, worker-thread pool, one frame a task', { calls, sums: [] }, (i) =>
      pool.characteristicsOfFrames([{ pixels: decoded[i % decoded.length] }]),
    );
    await run(
      'image characteristics of the decoded pixels, worker-thread pool, 3 frames a task (per frame; a group commit at 128 frames/s)',
      { calls: Math.max(4, Math.ceil(calls / 3)), batch: 3, sums: NOW },
      (i) => pool.characteristicsOfFrames(Array.from({ length: 3 }, (_, k) => ({ pixels: decoded[(i * 3 + k) % decoded.length] }))),
    );
    await run('object write (folder store)', { calls, sums: BOTH }, (i) => objects.put(`features/bench-cost/${i}.jpg`, frameAt(i).jpeg));
    await run('measurement write, one record (SQLite)', { calls, sums: BEFORE }, (i) =>
      measurements.write([recordOf(frameAt(i), i, characteristics[i % characteristics.length])]),
    );
    const batchCalls = Math.max(4, Math.ceil(calls / 32));
    await run(
      'measurement write, 32 records at once (per frame; records of frames analysed together)',
      { calls: batchCalls, batch: 32, sums: NOW },
      (i) =>
        measurements.write(
          Array.from({ length: 32 }, (_, k) => recordOf(frameAt(i * 32 + k), i * 32 + k, characteristics[k % characteristics.length])),
        ),
    );
    graph.dispose();
  } finally {
    await spool.close();
    await pool.close();
    await measurements.close();
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const frameBytes = Math.round(frames.reduce((n, f) => n + f.jpeg.length, 0) / frames.length);
  return { backend, frameBytes, stages, loadAverage: { start: loadStart, end: os.loadavg() } };
}

/** The sums of the API's frame: before issue 11's cuts and now. */
export const API_SUMS = [
  { key: 'before', label: '**sum of one frame before the cuts**' },
  { key: 'now', label: '**sum of one frame as the API does it now**' },
];

/** The stages, then one row per sum; the share column is each stage's share of the last sum. */
export function frameCostTable(results: Pick<FrameCostResults, 'stages'>, sums = API_SUMS): string {
  const stagesOf = (key: string) => results.stages.filter((s) => s.sums.includes(key));
  const total = (stages: StageCost[], pick: (s: StageCost) => number) => stages.reduce((n, s) => n + pick(s), 0);
  const last = sums[sums.length - 1].key;
  const lastCpu = total(stagesOf(last), (s) => s.cpuMs.mean);
  const row = (s: StageCost) => [
    s.stage,
    String(s.batch === 1 ? s.calls : `${s.calls} x ${s.batch}`),
    fixed(s.wallMs.p50, 2),
    fixed(s.wallMs.p90, 2),
    fixed(s.cpuMs.p50, 2),
    fixed(s.cpuMs.p90, 2),
    fixed(s.cpuMs.mean, 2),
    s.sums.length > 0 ? s.sums.join(', ') : '-',
    s.sums.includes(last) ? `${fixed((100 * s.cpuMs.mean) / lastCpu, 0)} %` : '-',
  ];
  const sumRow = (label: string, stages: StageCost[]) => [
    label,
    '',
    ...[
      (s: StageCost) => s.wallMs.p50,
      (s: StageCost) => s.wallMs.p90,
      (s: StageCost) => s.cpuMs.p50,
      (s: StageCost) => s.cpuMs.p90,
      (s: StageCost) => s.cpuMs.mean,
    ].map((pick) => fixed(total(stages, pick), 2)),
    '',
    '',
  ];
  return markdownTable(
    [
      'stage (per frame)',
      'calls',
      'wall p50 ms',
      'wall p90 ms',
      'CPU p50 ms',
      'CPU p90 ms',
      'CPU mean ms',
      'in the sums',
      `share of ${last}`,
    ],
    [...results.stages.map(row), ...sums.map(({ key, label }) => sumRow(label, stagesOf(key)))],
  );
}
