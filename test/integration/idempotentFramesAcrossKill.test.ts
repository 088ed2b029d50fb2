import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_KEY_HEADER } from '../../contracts/http/predict.js';
import { closeStores, type Stores } from '../../core/stores/index.js';
import { createServedAndFreshDeployments } from '../support/apiHarness.js';
import { spawnApi, type ApiProcess } from '../support/apiProcess.js';
import { openStoresIn } from '../support/embeddedStores.js';
import { syntheticFrame } from '../support/syntheticFrames.js';

const rovers: { id: string; token: string; deployment: 'served' | 'fresh' }[] = [
  { id: 'rover-served', token: 'token-served-0123456789', deployment: 'served' },
  { id: 'rover-fresh', token: 'token-fresh-0123456789', deployment: 'fresh' },
];

interface Sent {
  rover: (typeof rovers)[number];
  sensor: number;
  /** The first answer heard, if any: 200 with its request id, or 503 no_model. */
  heard?: { status: number; requestId?: string };
}

/**
 * A rover sends every frame with an Idempotency-Key and sends again each frame it is not sure of. The API is killed
 * (SIGKILL) mid-stream, some frames spooled and unanswered, their keys claimed; once it is back, the rover sends every
 * frame of the run again: each is stored exactly once, and each answer heard before the kill is answered again.
 */
describe('frames sent again with their keys across a kill -9 of the API', () => {
  let dir: string;
  let stores: Stores;
  let jpeg: Buffer;
  const started: ApiProcess[] = [];
  // A claim of the killed process is taken over once older than the upload deadline (2 s) plus 20 s.
  const env = () => ({ DATA_DIR: dir, PREDICT_UPLOAD_TIMEOUT_SECONDS: '2', HTTP_HEADERS_TIMEOUT_SECONDS: '2' });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-idem-kill9-'));
    stores = await openStoresIn(dir);
    await createServedAndFreshDeployments(stores, rovers, 'run-idem-kill9');
    jpeg = await syntheticFrame(120, 160, 120);
  });

  afterAll(async () => {
    for (const p of started) await p.kill9();
    await closeStores(stores);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function send(url: string, frame: Sent): Promise<{ status: number; body: Record<string, any>; retryAfter: string | null }> {
    const form = new FormData();
    form.set('sensor_value', String(frame.sensor));
    form.set('image', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
    const res = await fetch(`${url}/predict`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${frame.rover.token}`, [IDEMPOTENCY_KEY_HEADER]: `frame-${frame.sensor}` },
    });
    return { status: res.status, body: (await res.json()) as Record<string, any>, retryAfter: res.headers.get('retry-after') };
  }

  it('stores every frame once and answers each repeat as the first answer heard', async () => {
    let api = await spawnApi(env());
    started.push(api);
    const sent: Sent[] = [];
    let nextSensor = 1;
    const stop = { now: false };
    const loop = async (rover: (typeof rovers)[number]) => {
      while (!stop.now) {
        const frame: Sent = { rover, sensor: nextSensor++ };
        sent.push(frame);
        try {
          const answer = await send(api.url, frame);
          if (answer.status === 200) frame.heard = { status: 200, requestId: answer.body.request_id };
          else if (answer.status === 503 && answer.body.error?.code === 'no_model') frame.heard = { status: 503 };
          else throw new Error(`unexpected answer ${answer.status} ${JSON.stringify(answer.body)}`);
        } catch (err) {
          // Requests cut off by the kill were never answered.
          if (!stop.now) throw err;
        }
      }
    };
    const driving = Promise.all([0, 1, 2, 3, 4, 5].map((i) => loop(rovers[i % rovers.length])));
    const deadline = Date.now() + 60_000;
    while (sent.filter((f) => f.heard).length < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    stop.now = true;
    await api.kill9();
    await driving;
    const heard = sent.filter((f) => f.heard);
    console.log(`[kill9] ${sent.length} frames sent, ${heard.length} answered before the kill`);
    expect(heard.length).toBeGreaterThan(10);

    api = await spawnApi(env());
    started.push(api);
    // The rover sends every frame again, as long as the API says to wait (the killed process's claims go stale).
    let waited = 0;
    const resendDeadline = Date.now() + 120_000;
    for (const frame of sent) {
      for (;;) {
        const answer = await send(api.url, frame);
        if (answer.status === 409 && answer.body.error.code === 'idempotency_in_progress' && Date.now() < resendDeadline) {
          waited++;
          await new Promise((r) => setTimeout(r, Number(answer.retryAfter ?? 1) * 1000));
          continue;
        }
        if (frame.rover.deployment === 'fresh') expect(answer.body.error?.code, `frame ${frame.sensor}`).toBe('no_model');
        else expect(answer.status, `frame ${frame.sensor}: ${JSON.stringify(answer.body)}`).toBe(200);
        if (frame.heard?.requestId) expect(answer.body.request_id).toBe(frame.heard.requestId);
        break;
      }
    }
    console.log(`[kill9] ${sent.length} frames sent again; ${waited} answers said wait (a claim of the killed process)`);

    const storeDeadline = Date.now() + 90_000;
    let counts = new Map<string, number>();
    for (;;) {
      const rows = await stores.measurements.datasetRows(['served', 'fresh']);
      counts = new Map();
      for (const r of rows) counts.set(`${r.deployment}/${r.sensorValue}`, (counts.get(`${r.deployment}/${r.sensorValue}`) ?? 0) + 1);
      if (sent.every((f) => counts.has(`${f.rover.deployment}/${f.sensor}`)) || Date.now() > storeDeadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(
      sent
        .filter((f) => counts.get(`${f.rover.deployment}/${f.sensor}`) !== 1)
        .map((f) => `${f.sensor}: ${counts.get(`${f.rover.deployment}/${f.sensor}`) ?? 0}`),
    ).toEqual([]);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(sent.length);
    await api.stop();
  });
});
