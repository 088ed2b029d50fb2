/**
 * Memory of the API process around large uploads: resident set size before, at the peak and
 * after the analysis stored everything and the process was left alone for a while.
 *
 *   npx tsx bench/uploadMemory.ts [--frames 120] [--concurrency 8] [--settle-s 20]
 *
 * Runs `api/server.ts` as its own process on embedded stores in a temp DATA_DIR; the frames are
 * 1280x960 JPEGs of noise (about 1.5 MB at quality 95) sent as a registered rover (no model: 503 no_model, the
 * frame is recorded and analysed like any other).
 */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { hashToken } from '../api/auth.js';
import { closeStores } from '../core/stores/index.js';
import { openStoresIn } from '../test/support/embeddedStores.js';
import { spawnApi } from '../test/support/apiProcess.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '120' },
    concurrency: { type: 'string', default: '8' },
    'settle-s': { type: 'string', default: '20' },
  },
});

const statusOf = (pid: number) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(status.match(new RegExp(`${key}:\\s+(\\d+)`))![1]);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-upload-memory-'));
const env = { DATA_DIR: dir };
const stores = await openStoresIn(dir);
await stores.registry.createDeployment({ id: 'big', modelName: 'distance', modelVersion: 'latest', strategy: 'direct' });
await stores.registry.createClient({
  id: 'rover-big',
  name: 'rover-big',
  tokenHash: hashToken('token-big-0123456789'),
  deploymentId: 'big',
});

const width = 1280;
const height = 960;
const noise = randomBytes(width * height * 3);
const frame = await sharp(noise, { raw: { width, height, channels: 3 } })
  .jpeg({ quality: 95 })
  .toBuffer();

const api = await spawnApi(env);
const pid = api.child.pid!;
try {
  await new Promise((r) => setTimeout(r, 2000));
  const before = statusOf(pid);
  const total = Number(values.frames);
  let sent = 0;
  const statuses: Record<number, number> = {};
  await Promise.all(
    Array.from({ length: Number(values.concurrency) }, async () => {
      while (sent < total) {
        sent++;
        const form = new FormData();
        form.set('image', new Blob([new Uint8Array(frame)], { type: 'image/jpeg' }), 'frame.jpg');
        const res = await fetch(`${api.url}/predict`, {
          method: 'POST',
          body: form,
          headers: { authorization: 'Bearer token-big-0123456789' },
        });
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      }
    }),
  );
  const afterUploads = statusOf(pid);
  const deadline = Date.now() + 300_000;
  while ((await stores.measurements.deploymentStats('big')).count < (statuses[503] ?? 0) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 500));
  const stored = statusOf(pid);
  await new Promise((r) => setTimeout(r, Number(values['settle-s']) * 1000));
  const settled = statusOf(pid);
  console.log(`frames of ${(frame.length / 1e6).toFixed(2)} MB, answers ${JSON.stringify(statuses)}`);
  console.log(`| moment | RSS MB |\n| --- | --- |`);
  console.log(`| before | ${before.rssMb} |`);
  console.log(`| after the uploads | ${afterUploads.rssMb} |`);
  console.log(`| peak (VmHWM) | ${settled.peakMb} |`);
  console.log(`| all stored | ${stored.rssMb} |`);
  console.log(`| ${values['settle-s']} s later | ${settled.rssMb} |`);
} finally {
  await api.stop();
  await closeStores(stores);
  fs.rmSync(dir, { recursive: true, force: true });
}
