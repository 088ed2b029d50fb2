import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../../core/random.js';
import { ADMIN_TOKEN, registerUntrainedVersion, startApiOn, type ApiHarness } from '../support/apiHarness.js';
import { openTempStores } from '../support/embeddedStores.js';
import { syntheticFrame } from '../support/syntheticFrames.js';

const SEED = 12;
const REQUESTS = 300;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

interface Case {
  headers: Record<string, string>;
  body: Buffer;
  what: string;
}

/**
 * A bounded, seeded fuzz of POST /predict: mutated multipart bodies, content types, headers and
 * images (hostile and odd ones included). No answer may be a 5xx, every error must be the JSON
 * error shape, nothing may be logged at error, and the API must serve normally afterwards.
 */
describe('fuzzing /predict', () => {
  let api: ApiHarness;
  let token: string;
  let images: { name: string; bytes: Buffer }[];
  const errors: unknown[] = [];

  beforeAll(async () => {
    const temp = await openTempStores();
    const log = pino({ level: 'error' }, { write: (line: string) => errors.push(JSON.parse(line)) });
    api = await startApiOn(temp.stores, temp.dir, () => Promise.reject(new Error('no Temporal here')), {
      log,
      cleanup: () => temp.cleanup(),
    });
    await fetch(`${api.url}/deployments`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'beige', modelName: 'distance' }) });
    const created = await fetch(`${api.url}/clients`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ id: 'rover-1', deploymentId: 'beige' }),
    });
    token = ((await created.json()) as { token: string }).token;
    await registerUntrainedVersion(api.stores, 'distance', 'run-fuzz');

    const solid = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#7a6' } });
    images = [
      { name: 'frame', bytes: await syntheticFrame(120, 160, 120) },
      { name: 'tiny', bytes: await solid(1, 1).jpeg().toBuffer() },
      { name: 'strip', bytes: await solid(1, 900).jpeg().toBuffer() },
      { name: 'progressive', bytes: await solid(5000, 1200).jpeg({ progressive: true, quality: 30 }).toBuffer() },
      { name: 'grey', bytes: await solid(64, 48).greyscale().jpeg().toBuffer() },
      { name: 'cmyk', bytes: await solid(64, 48).toColourspace('cmyk').jpeg().toBuffer() },
      { name: 'png', bytes: await solid(16, 16).png().toBuffer() },
      { name: 'gif', bytes: await solid(16, 16).gif().toBuffer() },
      { name: 'exif', bytes: await solid(64, 48).jpeg().withMetadata({ orientation: 6 }).toBuffer() },
    ];
  });

  afterAll(async () => {
    await api?.close();
  });

  function multipart(rng: Rng, boundary: string, image: Buffer, fields: [string, string][]): Buffer {
    const parts: Buffer[] = [];
    for (const [name, value] of fields)
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
    const filename = rng.next() < 0.9 ? 'frame.jpg' : '../../../etc/passwd';
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="${filename}"\r\nContent-Type: image/jpeg\r\n\r\n`,
      ),
    );
    parts.push(image, Buffer.from(`\r\n--${boundary}--\r\n`));
    return Buffer.concat(parts);
  }

  function mutate(rng: Rng, bytes: Buffer): Buffer {
    const out = Buffer.from(bytes);
    const kind = rng.int(5);
    if (kind === 0) for (let i = 0; i < 1 + rng.int(20); i++) out[rng.int(out.length)] = rng.int(256);
    if (kind === 1) return out.subarray(0, rng.int(out.length));
    if (kind === 2) {
      const at = rng.int(out.length);
      return Buffer.concat([out.subarray(0, at), Buffer.from(Array.from({ length: rng.int(200) }, () => rng.int(256))), out.subarray(at)]);
    }
    if (kind === 3) {
      const from = rng.int(out.length);
      return Buffer.concat([out.subarray(0, from), out.subarray(from + rng.int(400))]);
    }
    return out;
  }

  const pick = <T>(rng: Rng, items: readonly T[]): T => items[rng.int(items.length)];

  function randomCase(rng: Rng): Case {
    const image = pick(rng, images);
    const boundary = pick(rng, ['B', '----x7', `b${rng.int(1e9)}`, 'a'.repeat(70)]);
    const fields: [string, string][] = [];
    if (rng.next() < 0.7) fields.push(['client_id', pick(rng, ['rover-1', 'rover-2', '', 'x'.repeat(200), "' OR 1=1 --"])]);
    if (rng.next() < 0.7) fields.push(['sensor_value', pick(rng, ['120', '-5', '1e9', 'NaN', '', '12.5', '0x10', '99999999999'])]);
    if (rng.next() < 0.1) for (let i = 0; i < 12; i++) fields.push([`extra${i}`, 'y'.repeat(rng.int(3000))]);
    let body = multipart(rng, boundary, rng.next() < 0.5 ? mutate(rng, image.bytes) : image.bytes, fields);
    if (rng.next() < 0.4) body = mutate(rng, body);
    const contentType = pick(rng, [
      `multipart/form-data; boundary=${boundary}`,
      `multipart/form-data; boundary=${boundary}`,
      `multipart/form-data; boundary=${boundary}`,
      'multipart/form-data',
      `multipart/mixed; boundary=${boundary}`,
      'multipart/form-data; boundary=other',
      'application/json',
      'text/plain',
      'image/jpeg',
      `multipart/form-data; boundary="${boundary}"; charset=utf-16`,
    ]);
    const headers: Record<string, string> = { 'content-type': contentType };
    const auth = rng.next();
    if (auth < 0.75) headers.authorization = `Bearer ${token}`;
    else if (auth < 0.85) headers.authorization = `Bearer ${'z'.repeat(rng.int(5000))}`;
    else if (auth < 0.9) headers.authorization = 'Basic dXNlcjpwYXNz';
    if (rng.next() < 0.2) headers['x-client-id'] = pick(rng, ['rover-1', 'rover-2', '../admin', 'x'.repeat(300)]);
    return { headers, body, what: `${image.name} ${contentType} ${body.length} bytes` };
  }

  it(`answers ${REQUESTS} seeded random requests without a 5xx and stays healthy`, async () => {
    const rng = createRng(SEED);
    const cases = Array.from({ length: REQUESTS }, () => randomCase(rng));
    const statuses: Record<number, number> = {};
    const failures: string[] = [];
    for (let i = 0; i < cases.length; i += 4) {
      await Promise.all(
        cases.slice(i, i + 4).map(async (c) => {
          const res = await fetch(`${api.url}/predict`, { method: 'POST', headers: c.headers, body: new Uint8Array(c.body) });
          const text = await res.text();
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          let shapeOk = res.status === 200;
          try {
            const json = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
            if (res.status !== 200) shapeOk = typeof json.error?.code === 'string' && typeof json.error?.message === 'string';
          } catch {
            shapeOk = false;
          }
          if (res.status >= 500 || !shapeOk) failures.push(`${res.status} for ${c.what}: ${text.slice(0, 200)}`);
        }),
      );
    }
    expect(failures).toEqual([]);
    expect(statuses[200], JSON.stringify(statuses)).toBeGreaterThan(0);
    expect(Object.keys(statuses).length, JSON.stringify(statuses)).toBeGreaterThan(4);
    console.log(`fuzz statuses: ${JSON.stringify(statuses)}`);

    await api.analysis.idle();
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    const form = new FormData();
    form.set('image', new Blob([new Uint8Array(images[0].bytes)], { type: 'image/jpeg' }), 'frame.jpg');
    const normal = await fetch(`${api.url}/predict`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
    expect(normal.status).toBe(200);
    expect(errors).toEqual([]);
  });
});
