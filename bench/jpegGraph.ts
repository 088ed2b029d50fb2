/**
 * The JPEG graph (core/ml/tfGraph/jpegGraph.ts) against sharp, on recorded parking frames (160x120 JPEGs):
 * 1. cost per frame of decode + resize to the model input: sharp (imageToPixels: lanczos3, shrink-on-load) and the
 *    graph with each resize it could use, alone and in batches of 16; and of a whole /predict model call: today's pixel
 *    path (sharp decode + resize, float tensor, frozen graph) against the JPEG signature (decode, resize, model, RGB out);
 * 2. the test error of a compact CNN trained on each resize's pixels (short runs, same frames, same seeds).
 * Wall time per call (performance.now) and CPU per call (process.cpuUsage: every thread of the process).
 *
 *   npx tsx bench/jpegGraph.ts                 # both parts
 *   JPEG_BENCH=cost npx tsx bench/jpegGraph.ts # or error
 */
import os from 'node:os';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { buildModel } from '../core/ml/architectures.js';
import { loadBackend, type Tf } from '../core/ml/backend.js';
import { compileForServing } from '../core/ml/fastPredict.js';
import { decodeImage, imageToPixels, pixelsForModel } from '../core/ml/imagePixels.js';
import { compileJpegPixels } from '../core/ml/jpegPixels.js';
import { compileJpegServing } from '../core/ml/jpegServing.js';
import { GRAPH_PREPROCESSING } from '../core/ml/modelArtifact.js';
import { pixelsToTensor, trainModel } from '../core/ml/train.js';
import type { JpegResize } from '../core/ml/tfGraph/jpegGraph.js';
import type { EdgeFrame } from '../edge/parkingRun.js';
import { fixed, markdownTable } from './markdownTable.js';
import { recordParkingRuns } from './parkingFrames.js';

const RESIZES: JpegResize[] = ['bilinear', 'area', 'lanczos3'];
/** The cost table also times lanczos3 by this project's op (the same pixels, so the error table leaves it out). */
const TIMED_RESIZES: JpegResize[] = [...RESIZES, 'lanczos3-mlops'];
const SIZES = [
  { architecture: 'compact', width: 64, height: 48 },
  { architecture: 'thesis-inception', width: 100, height: 75 },
];
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');

interface Cost {
  wallMs: number;
  cpuMs: number;
}

/** Median per-frame wall and CPU of `calls` calls of `fn` on `batch` frames each, after 5 untimed calls. */
async function measure(calls: number, batch: number, fn: (i: number) => unknown): Promise<Cost> {
  for (let i = 0; i < 5; i++) await fn(i);
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < calls; i++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await fn(i);
    walls.push((performance.now() - started) / batch);
    const used = process.cpuUsage(cpu);
    cpus.push((used.user + used.system) / 1000 / batch);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { wallMs: median(walls), cpuMs: median(cpus) };
}

async function costTable(tf: Tf, frames: EdgeFrame[]) {
  const jpegs = frames.map((f) => f.jpeg);
  const calls = 300;
  const batchOf = (i: number) => Array.from({ length: 16 }, (_, k) => jpegs[(i * 16 + k) % jpegs.length]);
  const rows: string[][] = [];
  const row = (stage: string, size: string, batch: number, cost: Cost) =>
    rows.push([stage, size, String(batch), fixed(cost.wallMs, 3), fixed(cost.cpuMs, 3), load()]);

  row('sharp decode only (decodeImage)', '160x120', 1, await measure(calls, 1, (i) => decodeImage(jpegs[i % jpegs.length])));
  for (const { architecture, width, height } of SIZES) {
    const size = { width, height };
    const label = `${width}x${height}`;
    row(
      'sharp decode+resize (imageToPixels, lanczos3)',
      label,
      1,
      await measure(calls, 1, (i) => imageToPixels(jpegs[i % jpegs.length], size)),
    );
    for (const resize of TIMED_RESIZES) {
      const graph = await compileJpegPixels(tf, size, { resize });
      row(`graph decode+resize (${resize})`, label, 1, await measure(calls, 1, (i) => graph.pixelsOf([jpegs[i % jpegs.length]])));
      row(`graph decode+resize (${resize})`, label, 16, await measure(calls / 4, 16, (i) => graph.pixelsOf(batchOf(i))));
      graph.dispose();
    }

    // A whole model call as /predict makes it: today's pixel path against the JPEG signature.
    const model = buildModel(tf, architecture, { width, height, dropout: 0.2, learningRate: 1e-3, seed: 3 });
    const pixelPath = await compileForServing(tf, model);
    const throughPixels = async (batch: Buffer[]) => {
      const pixels = await Promise.all(batch.map(async (jpeg) => pixelsForModel({ jpeg, rgb: await decodeImage(jpeg) }, size)));
      const joined = new Uint8Array(pixels.length * width * height * 3);
      pixels.forEach((p, k) => joined.set(p, k * p.length));
      const x = pixelsToTensor(tf, joined, batch.length, height, width) as Tensor4D;
      const y = pixelPath.predict(x) as Tensor;
      y.dataSync();
      tf.dispose([x, y]);
    };
    row(
      `${architecture}: sharp decode, resize, frozen graph (today)`,
      label,
      1,
      await measure(calls, 1, (i) => throughPixels([jpegs[i % jpegs.length]])),
    );
    row(
      `${architecture}: sharp decode, resize, frozen graph (today)`,
      label,
      16,
      await measure(calls / 4, 16, (i) => throughPixels(batchOf(i))),
    );
    const metadata = { architecture, width, height, labelMaxMm: 350, backend: 'tensorflow', preprocessing: GRAPH_PREPROCESSING } as const;
    const started = performance.now();
    const jpegPath = await compileJpegServing(tf, model, metadata);
    const compileMs = performance.now() - started;
    row(
      `${architecture}: JPEG signature (decode, resize, model, RGB out)`,
      label,
      1,
      await measure(calls, 1, (i) => jpegPath.predictJpegs([jpegs[i % jpegs.length]])),
    );
    row(
      `${architecture}: JPEG signature (decode, resize, model, RGB out)`,
      label,
      16,
      await measure(calls / 4, 16, (i) => jpegPath.predictJpegs(batchOf(i))),
    );
    rows.push([
      `${architecture}: compileJpegServing (export, load, check, warm 5 shapes), ms per compile`,
      label,
      '-',
      fixed(compileMs, 0),
      '-',
      load(),
    ]);
    jpegPath.dispose();
    pixelPath.dispose();
    model.dispose();
  }
  console.log(`\n### Decode + resize and the model call, per frame (median; ${jpegs.length} recorded 160x120 frames)\n`);
  console.log(markdownTable(['stage', 'model input', 'batch', 'wall ms/frame', 'CPU ms/frame', 'load avg (1, 5, 15 min)'], rows));
}

async function errorTable(tf: Tf, frames: EdgeFrame[], runOf: number[]) {
  const labelled = frames.map((f, i) => ({ f, run: runOf[i] })).filter(({ f }) => f.sensorMm !== null);
  // Whole runs on one side: frames of one run look alike.
  const isTest = (run: number) => run % 5 === 4;
  const [width, height] = (process.env.JPEG_BENCH_SIZE ?? '64x48').split('x').map(Number);
  const size = { width, height };
  const epochs = Number(process.env.JPEG_BENCH_EPOCHS ?? 8);
  const seeds = (process.env.JPEG_BENCH_SEEDS ?? '1,2').split(',').map(Number);
  const makers: { name: string; pixels: (jpegs: Buffer[]) => Promise<Uint8Array[]> }[] = [
    { name: 'sharp lanczos3 (imageToPixels, shrink-on-load)', pixels: (jpegs) => Promise.all(jpegs.map((j) => imageToPixels(j, size))) },
    ...RESIZES.map((resize) => ({
      name: `graph ${resize}`,
      pixels: async (jpegs: Buffer[]) => {
        const graph = await compileJpegPixels(tf, size, { resize });
        const made = graph.pixelsOf(jpegs).map((p) => {
          if (!(p instanceof Uint8Array)) throw p;
          return p.slice();
        });
        graph.dispose();
        return made;
      },
    })),
  ];
  const splitOf = (rows: typeof labelled, pixels: Uint8Array[]) => {
    const joined = new Uint8Array(rows.length * width * height * 3);
    pixels.forEach((p, k) => joined.set(p, k * p.length));
    return { pixels: joined, labelsMm: Float32Array.from(rows, ({ f }) => f.sensorMm!), count: rows.length };
  };
  const trainRows = labelled.filter(({ run }) => !isTest(run));
  const testRows = labelled.filter(({ run }) => isTest(run));
  const rows: string[][] = [];
  for (const maker of makers) {
    const train = splitOf(trainRows, await maker.pixels(trainRows.map(({ f }) => f.jpeg)));
    const test = splitOf(testRows, await maker.pixels(testRows.map(({ f }) => f.jpeg)));
    const maes: number[] = [];
    const started = performance.now();
    for (const seed of seeds) {
      const result = await trainModel(tf, {
        architecture: 'compact',
        width,
        height,
        labelMaxMm: 350,
        params: { epochs, batchSize: 32, dropout: 0.1, learningRate: 1e-3 },
        train,
        test,
        seed,
      });
      maes.push(result.metrics.test_mae_mm);
      result.model.dispose();
    }
    rows.push([
      maker.name,
      maes.map((m) => fixed(m, 2)).join(' / '),
      fixed(maes.reduce((a, b) => a + b) / maes.length, 2),
      fixed((performance.now() - started) / 1000, 0),
      load(),
    ]);
  }
  console.log(
    `\n### Compact CNN at ${width}x${height}: test MAE by resize (${trainRows.length} train / ${testRows.length} test frames of beige-350, whole runs held out, ${epochs} epochs, batch 32, seeds ${seeds.join(', ')})\n`,
  );
  console.log(markdownTable(['training pixels', 'test MAE mm (per seed)', 'mean', 'seconds', 'load avg (1, 5, 15 min)'], rows));
}

async function main() {
  const only = process.env.JPEG_BENCH;
  const { tf } = await loadBackend('tensorflow');
  const recorded = await recordParkingRuns('beige-350', Number(process.env.JPEG_BENCH_FRAMES ?? 1500));
  const frames = recorded.runs.flatMap((r) => r.frames);
  const runOf = recorded.runs.flatMap((r, i) => r.frames.map(() => i));
  console.log(
    `${frames.length} frames of ${recorded.runs.length} runs recorded in ${recorded.renderSeconds.toFixed(1)} s; CPUs ${os.availableParallelism()}`,
  );
  if (only !== 'error') await costTable(tf, frames.slice(0, 256));
  if (only !== 'cost') await errorTable(tf, frames, runOf);
}

await main();
