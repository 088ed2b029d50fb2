/**
 * Ways to run a registered layers model on one frame (and on 8), each timed as /predict does it
 * (pixels to tensor, predict, read the output) and checked against model.predict on the same
 * recorded frames. The paths take turns in rounds so a change of the machine's load hits them alike.
 */
import os from 'node:os';
import type { LayersModel, Tensor, Tensor4D } from '@tensorflow/tfjs';
import { buildModel } from '../core/ml/architectures.js';
import { loadBackend, type Tf } from '../core/ml/backend.js';
import { compileForServing } from '../core/ml/fastPredict.js';
import { imageToPixels } from '../core/ml/imagePixels.js';
import { pixelsToTensor } from '../core/ml/train.js';
import type { EdgeFrame } from '../edge/parkingRun.js';
import { fixed, markdownTable } from './markdownTable.js';
import { percentile } from './roverReplay.js';
import type { ArchitectureUnderTest, PredictPathsSettings } from './settings.js';

interface PredictPath {
  name: string;
  predict(x: Tensor4D): Tensor;
  dispose(): void;
  /** Set while the path's calls run, reset after. */
  prodMode?: boolean;
}

export interface PathCost {
  architecture: string;
  input: string;
  path: string;
  /** What compileForServing chose, for its own rows. */
  note?: string;
  batch1: { cpuMs: number; wallMs: number };
  batch8PerFrame: { cpuMs: number; wallMs: number };
  /** Largest |output - model.predict output| over every recorded frame. */
  maxAbsDiff: number;
  /** Time to make the path from a loaded layers model (export, write, load the session), ms. */
  compileMs: number;
}

export interface PredictPathsResults {
  backend: string;
  /** TensorFlow's thread pools, as the environment set them. */
  threads: string;
  frames: number;
  rows: PathCost[];
  loadAverage: { start: number[]; end: number[] };
}

const WARM_UP_CALLS = 5;

/** Untrained layers have zero biases; random ones make a wrongly wired bias show in the outputs. */
function randomizeBiases(tf: Tf, model: LayersModel) {
  for (const [i, layer] of model.layers.entries()) {
    const [kernel, bias] = layer.getWeights();
    if (bias) tf.tidy(() => layer.setWeights([kernel, tf.randomUniform(bias.shape, -0.1, 0.1, 'float32', i)]));
  }
}

async function pathsOf(tf: Tf, model: LayersModel): Promise<{ path: PredictPath; compileMs: number; note?: string }[]> {
  const outputName = model.outputs[0].name;
  const t0 = performance.now();
  const compiled = await compileForServing(tf, model);
  const compileMs = performance.now() - t0;
  const plain = (name: string, run: (x: Tensor4D) => Tensor, prodMode?: boolean) => ({
    path: { name, predict: run, dispose() {}, prodMode },
    compileMs: 0,
  });
  return [
    plain('model.predict (today)', (x) => model.predict(x) as Tensor),
    plain('model.predict, prod mode', (x) => model.predict(x) as Tensor, true),
    plain('model.execute', (x) => tf.tidy(() => model.execute(x, outputName) as Tensor)),
    plain('model.apply, training false', (x) => tf.tidy(() => model.apply(x, { training: false }) as Tensor)),
    plain('model.apply, training false, prod mode', (x) => tf.tidy(() => model.apply(x, { training: false }) as Tensor), true),
    {
      path: { name: `compileForServing (${compiled.path})`, predict: (x) => compiled.predict(x), dispose: () => compiled.dispose() },
      compileMs,
      note: compiled.fallbackReason,
    },
  ];
}

function summary(cpu: number[], wall: number[]) {
  return { cpuMs: percentile(cpu, 50), wallMs: percentile(wall, 50) };
}

async function benchmarkArchitecture(
  tf: Tf,
  target: ArchitectureUnderTest,
  frames: EdgeFrame[],
  settings: PredictPathsSettings,
  log: (line: string) => void,
): Promise<PathCost[]> {
  const { width, height } = target;
  const model = buildModel(tf, target.architecture, { width, height, dropout: 0.1, learningRate: 1e-3, seed: 1 });
  randomizeBiases(tf, model);
  const pixels = await Promise.all(frames.map((f) => imageToPixels(f.jpeg, { width, height })));
  const framePixels = width * height * 3;
  const batchOf = (i: number, size: number) => {
    const joined = new Uint8Array(framePixels * size);
    for (let k = 0; k < size; k++) joined.set(pixels[(i * size + k) % pixels.length], k * framePixels);
    return joined;
  };
  const batches8 = Array.from({ length: Math.ceil(pixels.length / 8) }, (_, i) => batchOf(i, 8));
  const all = pixelsToTensor(tf, batchOf(0, pixels.length), pixels.length, height, width) as Tensor4D;
  const reference = model.predict(all) as Tensor;
  const paths = await pathsOf(tf, model);
  const call = async (path: PredictPath, input: Uint8Array, size: number) => {
    const out = tf.tidy(() => path.predict(pixelsToTensor(tf, input, size, height, width) as Tensor4D).reshape([-1]));
    await out.data();
    out.dispose();
  };
  const times = paths.map(() => ({ cpu1: [] as number[], wall1: [] as number[], cpu8: [] as number[], wall8: [] as number[] }));
  const timed = async (into: { cpu: number[]; wall: number[] }, size: number, run: () => Promise<void>) => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await run();
    const used = process.cpuUsage(c0);
    into.wall.push((performance.now() - t0) / size);
    into.cpu.push((used.user + used.system) / 1000 / size);
  };
  try {
    const perRound = Math.max(1, Math.ceil(settings.calls / settings.rounds));
    for (let round = 0; round < settings.rounds; round++) {
      log(`predict paths: ${target.architecture} round ${round + 1}/${settings.rounds}`);
      for (const [p, { path }] of paths.entries()) {
        tf.env().set('PROD', path.prodMode ?? false);
        try {
          for (let i = 0; i < WARM_UP_CALLS; i++) await call(path, pixels[i % pixels.length], 1);
          for (let i = 0; i < perRound; i++) {
            const k = round * perRound + i;
            await timed({ cpu: times[p].cpu1, wall: times[p].wall1 }, 1, () => call(path, pixels[k % pixels.length], 1));
          }
          for (let i = 0; i < Math.max(1, Math.ceil(perRound / 8)); i++) {
            const k = round * perRound + i;
            await timed({ cpu: times[p].cpu8, wall: times[p].wall8 }, 8, () => call(path, batches8[k % batches8.length], 8));
          }
        } finally {
          tf.env().set('PROD', false);
        }
      }
    }
    return paths.map(({ path, compileMs, note }, p) => {
      const out = path.predict(all);
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(out.reshape([-1]), reference.reshape([-1])))).dataSync()[0]);
      out.dispose();
      return {
        architecture: target.architecture,
        input: `${width}x${height}`,
        path: path.name,
        note,
        batch1: summary(times[p].cpu1, times[p].wall1),
        batch8PerFrame: summary(times[p].cpu8, times[p].wall8),
        maxAbsDiff: diff,
        compileMs,
      };
    });
  } finally {
    for (const { path } of paths) path.dispose();
    all.dispose();
    reference.dispose();
    model.dispose();
  }
}

export async function benchmarkPredictPaths(
  settings: PredictPathsSettings,
  frames: EdgeFrame[],
  log: (line: string) => void,
): Promise<PredictPathsResults> {
  const loadStart = os.loadavg();
  const { tf, name: backend } = await loadBackend();
  const rows: PathCost[] = [];
  for (const target of settings.architectures) rows.push(...(await benchmarkArchitecture(tf, target, frames, settings, log)));
  return {
    backend,
    threads: `intra-op ${process.env.TF_NUM_INTRAOP_THREADS ?? 'default'}, inter-op ${process.env.TF_NUM_INTEROP_THREADS ?? 'default'} (default: every core)`,
    frames: frames.length,
    rows,
    loadAverage: { start: loadStart, end: os.loadavg() },
  };
}

export function predictPathsTable(results: PredictPathsResults): string {
  return markdownTable(
    [
      'architecture',
      'path',
      'CPU p50 batch 1',
      'wall p50 batch 1',
      'CPU p50 batch 8, per frame',
      'wall p50 batch 8, per frame',
      'max abs diff vs predict',
      'compile',
    ],
    results.rows.map((r) => [
      `${r.architecture} ${r.input}`,
      r.note ? `${r.path}: ${r.note}` : r.path,
      `${fixed(r.batch1.cpuMs, 2)} ms`,
      `${fixed(r.batch1.wallMs, 2)} ms`,
      `${fixed(r.batch8PerFrame.cpuMs, 2)} ms`,
      `${fixed(r.batch8PerFrame.wallMs, 2)} ms`,
      r.maxAbsDiff.toExponential(1),
      r.compileMs ? `${fixed(r.compileMs, 0)} ms` : '-',
    ]),
  );
}
