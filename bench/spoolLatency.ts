/**
 * What the write-ahead spool adds to every /predict: the time from `append` to the frame being
 * durable (written and fdatasync'ed, group commit), with 1, 8 and 32 requests appending at once.
 * Frames are rendered by the edge simulator (beige-350), so their size is what rovers send.
 *
 *   npx tsx bench/spoolLatency.ts [--dir DIR] [--frames N]
 *
 * The spool lives in DIR (default: a fresh folder under ./data, i.e. the disk the API's
 * DATA_DIR is on; /tmp may be a RAM disk where fsync costs nothing).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FrameSpool } from '../ingest/frameSpool.js';
import { renderFrame } from '../edge/camera.js';
import { getPreset } from '../edge/presets.js';
import { createRng } from '../core/random.js';
import { markdownTable } from './markdownTable.js';
import { percentile } from './roverReplay.js';

const { values } = parseArgs({ options: { dir: { type: 'string' }, frames: { type: 'string', default: '2000' } } });
const root = values.dir ?? path.resolve('data');
fs.mkdirSync(root, { recursive: true });
const dir = fs.mkdtempSync(path.join(root, 'bench-spool-'));
const total = Number(values.frames);

const preset = getPreset('beige-350');
const rng = createRng(7);
const images = await Promise.all(
  Array.from({ length: 16 }, (_, i) => renderFrame(preset.scene, { distanceMm: 40 + i * 20, angleDeg: 0, lateralMm: 0 }, rng)),
);
const meta = {
  requestId: '00000000-0000-4000-8000-000000000000',
  time: Date.now(),
  deployment: 'beige',
  client: 'rover-1',
  modelName: 'distance',
  modelVersion: 1,
  prediction: 123.4,
  sensorValue: 120,
  latencyMs: 4.2,
};

const rows: string[][] = [];
try {
  for (const concurrency of [1, 8, 32]) {
    const { spool } = await FrameSpool.open<typeof meta>({ dir: path.join(dir, `c${concurrency}`), maxBytes: 4 * 1024 ** 3 });
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          const image = images[next++ % images.length];
          const t0 = performance.now();
          const entry = await spool.append(meta, image);
          latencies.push(performance.now() - t0);
          // The analysis acknowledges frames as it stores them; do the same so segments are deleted.
          void spool.ack(entry);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    rows.push([
      String(concurrency),
      String(latencies.length),
      percentile(latencies, 50).toFixed(2),
      percentile(latencies, 99).toFixed(2),
      latencies.at(-1)!.toFixed(2),
      (latencies.length / spool.syncs).toFixed(1),
      (latencies.length / seconds).toFixed(0),
    ]);
    await spool.close();
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

const mean = Math.round(images.reduce((n, i) => n + i.length, 0) / images.length);
console.log(`spool append latency (frames of ${mean} bytes on average, spool in ${root})\n`);
console.log(markdownTable(['appending at once', 'frames', 'p50 ms', 'p99 ms', 'max ms', 'frames per fsync', 'frames/s'], rows));
