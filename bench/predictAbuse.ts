/**
 * What two cheap attacks on /predict cost normal rovers, on a real API process (embedded stores, temp DATA_DIR):
 * - slow uploads: one rover token opens `--slow` uploads over raw sockets and sends their bodies at 1 byte/s,
 *   while another rover sends normal frames back to back: how many of its frames are answered, and with what;
 * - header-lying JPEGs: `--senders` senders post 286-byte JPEGs whose header claims 4096x4096 or 1280x960 (a real
 *   160x120 frame with its SOF rewritten and cut, half of them closed with an end marker) back to back, while a rover sends normal frames
 *   at `--rate` per second: the latency of the normal frames (p50, p99) against the same rover alone, and what the
 *   attackers' requests got.
 *
 *   npx tsx bench/predictAbuse.ts [--seconds 20] [--slow 32] [--senders 2] [--rate 10]
 *
 * The API runs with its defaults (INFLIGHT_MAX_FRAMES 32, and whatever deadlines the code has).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { hashToken } from '../api/auth.js';
import { closeStores } from '../core/stores/index.js';
import { openStoresIn } from '../test/support/embeddedStores.js';
import { spawnApi } from '../test/support/apiProcess.js';
import { registerUntrainedVersion } from '../test/support/apiHarness.js';
import { syntheticFrame } from '../test/support/syntheticFrames.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    slow: { type: 'string', default: '32' },
    senders: { type: 'string', default: '2' },
    rate: { type: 'string', default: '10' },
  },
});
const seconds = Number(values.seconds);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-predict-abuse-'));
const env = { DATA_DIR: dir };
const stores = await openStoresIn(dir);
await stores.registry.createDeployment({ id: 'beige', modelName: 'distance', modelVersion: 'latest', strategy: 'direct' });
const tokens = { normal: 'token-normal-0123456789', attacker: 'token-attacker-0123456789' };
for (const [id, token] of Object.entries(tokens))
  await stores.registry.createClient({ id: `rover-${id}`, name: id, tokenHash: hashToken(token), deploymentId: 'beige' });
await registerUntrainedVersion(stores, 'distance', 'run-abuse');
const frame = await syntheticFrame(120, 160, 120);
// Claiming 4096x4096 (beyond the default limits now, within them before) and 1280x960 (within them).
const lyingFrames = [lyingJpeg(frame, 4096, 4096), lyingJpeg(frame, 1280, 960)].flatMap((claim) => {
  const cut = claim.subarray(0, 286);
  return [cut, Buffer.concat([cut, Buffer.from([0xff, 0xd9])])];
});

/** A JPEG whose SOF marker is rewritten to claim `width` x `height`. */
function lyingJpeg(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i < out.length - 9; i++) {
    if (out[i] === 0xff && out[i + 1] >= 0xc0 && out[i + 1] <= 0xc2) {
      out.writeUInt16BE(height, i + 5);
      out.writeUInt16BE(width, i + 7);
      return out;
    }
  }
  throw new Error('no SOF marker');
}

const api = await spawnApi(env);

async function post(token: string, image: Buffer): Promise<{ status: number; code?: string; ms: number }> {
  const form = new FormData();
  form.set('sensor_value', '120');
  form.set('image', new Blob([new Uint8Array(image)], { type: 'image/jpeg' }), 'frame.jpg');
  const started = performance.now();
  const res = await fetch(`${api.url}/predict`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code, ms: performance.now() - started };
}

const tally = (answers: { status: number; code?: string }[]) => {
  const counts: Record<string, number> = {};
  for (const a of answers) {
    const key = a.code ? `${a.status} ${a.code}` : String(a.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return JSON.stringify(counts);
};
const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

/** Normal frames at `rate` per second (open loop) for `seconds`. */
async function normalRover(rate: number, forSeconds: number) {
  const answers: Promise<{ status: number; code?: string; ms: number }>[] = [];
  const start = performance.now();
  let inFlight = 0;
  let maxInFlight = 0;
  for (let i = 0; i < rate * forSeconds; i++) {
    const due = start + (i * 1000) / rate;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    answers.push(post(tokens.normal, frame).finally(() => inFlight--));
  }
  return { answers: await Promise.all(answers), maxInFlight };
}

async function slowUploads(): Promise<void> {
  const { port } = new URL(api.url);
  const body = Buffer.concat([
    Buffer.from('--B\r\nContent-Disposition: form-data; name="image"; filename="f.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'),
    frame,
    Buffer.from('\r\n--B--\r\n'),
  ]);
  const outcomes: { status?: string; closedAfterS?: number }[] = [];
  const sockets = Array.from({ length: Number(values.slow) }, () => {
    const outcome: { status?: string; closedAfterS?: number } = {};
    outcomes.push(outcome);
    const opened = performance.now();
    const socket = net.connect(Number(port), '127.0.0.1');
    let sent = 0;
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => (outcome.status ??= /^HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1'))?.[1]));
    socket.on('close', () => {
      outcome.closedAfterS ??= (performance.now() - opened) / 1000;
      clearInterval(trickle);
    });
    socket.write(
      `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tokens.attacker}\r\n` +
        `Content-Type: multipart/form-data; boundary=B\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    const trickle = setInterval(() => sent < body.length && socket.write(body.subarray(sent, ++sent)), 1000);
    return { socket, trickle };
  });
  await new Promise((r) => setTimeout(r, 500));
  const { answers, maxInFlight } = await normalRover(Number(values.rate), seconds);
  for (const { socket, trickle } of sockets) {
    clearInterval(trickle);
    socket.destroy();
  }
  const byStatus: Record<string, number[]> = {};
  for (const o of outcomes) (byStatus[o.status ?? 'still open'] ??= []).push(o.closedAfterS ?? Number.NaN);
  const slowSummary = Object.entries(byStatus)
    .map(
      ([status, closed]) =>
        `${closed.length} ${status}${status === 'still open' ? '' : ` (closed after ${quantile(closed, 0.5).toFixed(1)} s, median)`}`,
    )
    .join(', ');
  console.log(`\n${values.slow} uploads of one token at 1 byte/s for ${seconds} s, normal rover at ${values.rate} frames/s:`);
  console.log(
    `  normal frames answered 200: ${answers.filter((a) => a.status === 200).length} of ${answers.length} ${tally(answers)} (up to ${maxInFlight} in flight)`,
  );
  console.log(`  slow uploads: ${slowSummary}`);
}

async function lyingSenders(): Promise<void> {
  const alone = (await normalRover(Number(values.rate), Math.min(10, seconds))).answers;
  const stop = { now: false };
  const attacks: { status: number; code?: string; ms: number }[] = [];
  const senders = Array.from({ length: Number(values.senders) }, async (_, s) => {
    for (let i = s; !stop.now; i++) attacks.push(await post(tokens.attacker, lyingFrames[i % lyingFrames.length]));
  });
  const { answers } = await normalRover(Number(values.rate), seconds);
  stop.now = true;
  await Promise.all(senders);
  const ms = (list: { ms: number }[]) =>
    `p50 ${quantile(
      list.map((a) => a.ms),
      0.5,
    ).toFixed(0)} ms, p99 ${quantile(
      list.map((a) => a.ms),
      0.99,
    ).toFixed(0)} ms`;
  console.log(`\nnormal rover at ${values.rate} frames/s, alone: ${ms(alone)} ${tally(alone)}`);
  console.log(
    `  beside ${values.senders} senders of 286-byte JPEGs claiming 4096x4096 or 1280x960 for ${seconds} s: ${ms(answers)} ${tally(answers)}`,
  );
  console.log(`  the lying JPEGs: ${attacks.length} sent, ${ms(attacks)} ${tally(attacks)}`);
}

try {
  await slowUploads();
  // Whatever the slow uploads left behind is gone before the next part.
  await new Promise((r) => setTimeout(r, 2000));
  await lyingSenders();
} finally {
  await api.stop();
  await closeStores(stores);
  fs.rmSync(dir, { recursive: true, force: true });
}
