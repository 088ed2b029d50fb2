import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameFingerprint } from '../../control/idempotentFrames.js';
import { frameImageKey } from '../../core/stores/objectKeys.js';
import type { RegistryStore } from '../../core/stores/registry.js';
import { createServedAndFreshDeployments, startApiOn, type ApiHarness } from '../support/apiHarness.js';
import { openTempStores } from '../support/embeddedStores.js';
import { syntheticFrame } from '../support/syntheticFrames.js';

const noTemporal = () => Promise.reject(new Error('Temporal is not part of this test'));
const rovers: { id: string; token: string; deployment: 'served' | 'fresh' }[] = [
  { id: 'rover-served', token: 'token-served-0123456789', deployment: 'served' },
  { id: 'rover-fresh', token: 'token-fresh-0123456789', deployment: 'fresh' },
];

/**
 * A rover that did not hear the answer sends the frame again with the same Idempotency-Key: the API stores it once
 * and answers the repeat as it answered the first.
 */
describe('POST /predict with an Idempotency-Key', () => {
  let api: ApiHarness;
  let jpeg: Buffer;
  /** The registry's Idempotency-Key calls the API made. */
  const keyCalls: string[] = [];
  /** Idempotency-Key calls that fail as a registry refusing connections does. */
  const failing = new Set<string>();

  beforeAll(async () => {
    const temp = await openTempStores();
    const counted = new Proxy(temp.stores.registry, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof property === 'string' && /IdempotencyKey/.test(property) && typeof value === 'function')
          return (...args: unknown[]) => {
            keyCalls.push(property);
            if (failing.has(property))
              return Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:13306'), { code: 'ECONNREFUSED' }));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        return value;
      },
    }) as RegistryStore;
    api = await startApiOn({ ...temp.stores, registry: counted }, temp.dir, noTemporal, { cleanup: () => temp.cleanup() });
    await createServedAndFreshDeployments(api.stores, rovers, 'run-idempotent');
    jpeg = await syntheticFrame(120, 160, 120);
  });
  afterAll(async () => api?.close());

  async function predict(opts: { key?: string; sensor?: string; rover?: (typeof rovers)[number]; image?: Buffer; ageMs?: string }) {
    const rover = opts.rover ?? rovers[0];
    const form = new FormData();
    form.set('sensor_value', opts.sensor ?? '120');
    if (opts.ageMs !== undefined) form.set('frame_age_ms', opts.ageMs);
    form.set('image', new Blob([new Uint8Array(opts.image ?? jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
    const headers: Record<string, string> = { authorization: `Bearer ${rover.token}` };
    if (opts.key !== undefined) headers['idempotency-key'] = opts.key;
    const res = await fetch(`${api.url}/predict`, { method: 'POST', body: form, headers });
    return { status: res.status, body: (await res.json()) as Record<string, any>, headers: res.headers };
  }

  async function storedFrames(deployment: string) {
    await api.analysis.idle();
    return api.stores.measurements.recentFrames(deployment, { limit: 1000 });
  }

  it('stores a frame sent twice with one key once, and answers the repeat as the first', async () => {
    const first = await predict({ key: 'frame-0001', sensor: '121' });
    const again = await predict({ key: 'frame-0001', sensor: '121' });
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    const frames = (await storedFrames('served')).filter((f) => f.sensorValue === 121);
    expect(frames).toHaveLength(1);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
  });

  it('writes nothing to the registry for a frame without a key', async () => {
    const before = keyCalls.length;
    expect((await predict({ sensor: '140' })).status).toBe(200);
    expect((await predict({ sensor: '140' })).status).toBe(200);
    expect(keyCalls.slice(before)).toEqual([]);
    expect((await storedFrames('served')).filter((f) => f.sensorValue === 140)).toHaveLength(2);
    expect((await predict({ key: 'frame-0040', sensor: '141' })).status).toBe(200);
    expect(keyCalls.slice(before)).toEqual(['claimIdempotencyKey', 'settleIdempotencyKey']);
  });

  it('stores concurrent sends of one frame with one key once: the others are answered again or told to wait', async () => {
    const answers = await Promise.all([1, 2, 3, 4].map(() => predict({ key: 'frame-0002', sensor: '122' })));
    const statuses = answers.map((a) => a.status);
    expect(statuses).toContain(200);
    for (const a of answers) {
      if (a.status === 409) {
        expect(a.body.error.code).toBe('idempotency_in_progress');
        expect(a.headers.get('retry-after')).toBe('1');
      } else expect(a.status).toBe(200);
    }
    expect(new Set(answers.filter((a) => a.status === 200).map((a) => a.body.request_id)).size).toBe(1);
    expect((await storedFrames('served')).filter((f) => f.sensorValue === 122)).toHaveLength(1);
  });

  it('answers a frame with the same key again as the frame recorded without a model (503 no_model), stored once', async () => {
    const fresh = rovers[1];
    const first = await predict({ key: 'frame-0003', sensor: '123', rover: fresh });
    const again = await predict({ key: 'frame-0003', sensor: '123', rover: fresh });
    expect(first).toMatchObject({ status: 503, body: { error: { code: 'no_model' } } });
    expect(again.status).toBe(503);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await storedFrames('fresh')).filter((f) => f.sensorValue === 123)).toHaveLength(1);
  });

  it('keys are per client: another rover may use the same key', async () => {
    const served = await predict({ key: 'shared-key', sensor: '124' });
    const fresh = await predict({ key: 'shared-key', sensor: '124', rover: rovers[1] });
    expect(served.status).toBe(200);
    expect(fresh.body.error.code).toBe('no_model');
    expect(fresh.headers.get('idempotent-replayed')).toBeNull();
  });

  it('refuses another frame under a used key (422 idempotency_key_reused) and stores nothing of it', async () => {
    expect((await predict({ key: 'frame-0005', sensor: '125' })).status).toBe(200);
    const other = await predict({ key: 'frame-0005', sensor: '126' });
    expect(other).toMatchObject({ status: 422, body: { error: { code: 'idempotency_key_reused' } } });
    expect((await storedFrames('served')).filter((f) => f.sensorValue === 126)).toHaveLength(0);
  });

  it('refuses a key that is not 1 to 255 printable ASCII characters (400 invalid_idempotency_key)', async () => {
    for (const key of ['k'.repeat(256), 'tab\there'])
      expect(await predict({ key, sensor: '127' })).toMatchObject({ status: 400, body: { error: { code: 'invalid_idempotency_key' } } });
    expect((await storedFrames('served')).filter((f) => f.sensorValue === 127)).toHaveLength(0);
  });

  it('frees the key of a frame it did not store: its next attempt is handled afresh, not refused as in progress', async () => {
    const EOI = Buffer.from([0xff, 0xd9]);
    const wide = await syntheticFrame(140, 640, 480);
    let broken: Buffer | undefined;
    for (const share of [0.3, 0.5, 0.7, 0.9]) {
      const image = Buffer.concat([wide.subarray(0, Math.floor(wide.length * share)), EOI]);
      const answer = await predict({ image, sensor: '128' });
      if (answer.status === 400 && answer.body.error.code === 'invalid_image') {
        broken = image;
        break;
      }
    }
    expect(broken, 'a truncated frame the API refuses as undecodable').toBeDefined();
    for (let attempt = 0; attempt < 2; attempt++)
      expect(await predict({ key: 'frame-0008', image: broken, sensor: '128' })).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_image' } },
      });
  });

  it('waits for a recent handling of the key (409), and takes over one the API died in: the frame is stored once, under its first request id', async () => {
    const { registry } = api.stores;
    const claimOf = (key: string, sensor: number, requestId: string, frameTime: number) =>
      registry.claimIdempotencyKey(
        { client: 'rover-served', key, requestId, frameTime, fingerprint: frameFingerprint(jpeg, sensor), holder: `dead-${key}` },
        { staleBefore: 0, expiredBefore: new Date(0).toISOString() },
      );
    await claimOf('frame-0009', 129, 'request-in-progress', Date.now());
    const waiting = await predict({ key: 'frame-0009', sensor: '129' });
    expect(waiting).toMatchObject({ status: 409, body: { error: { code: 'idempotency_in_progress' } } });
    expect(waiting.headers.get('retry-after')).toBe('1');

    // An API that spooled the frame and died before it answered: its claim is pending and a minute old, its record stored.
    const frameTime = Date.now() - 60_000;
    await claimOf('frame-0010', 130, 'request-of-dead-api', frameTime);
    const db = new Database(path.join(api.dir, 'registry.db'));
    db.prepare('update idempotency_keys set claimed_at = ? where idem_key = ?').run(frameTime, 'frame-0010');
    db.close();
    await api.analysis.enqueue({
      requestId: 'request-of-dead-api',
      time: frameTime,
      deployment: 'served',
      client: 'rover-served',
      sensorValue: 130,
      modelName: 'distance',
      modelVersion: 1,
      prediction: 100,
      latencyMs: 5,
      image: jpeg,
    });
    const resent = await predict({ key: 'frame-0010', sensor: '130' });
    expect(resent.status).toBe(200);
    expect(resent.body.request_id).toBe('request-of-dead-api');
    const stored = (await storedFrames('served')).filter((f) => f.sensorValue === 130);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ time: frameTime, imageKey: frameImageKey('served', 'request-of-dead-api') });
    expect((await predict({ key: 'frame-0010', sensor: '130' })).headers.get('idempotent-replayed')).toBe('true');
  });

  it('refuses a frame with a key while the registry cannot be reached (503, Retry-After), storing nothing; keeps a frame it stored when only the answer could not be kept', async () => {
    failing.add('claimIdempotencyKey');
    try {
      const refused = await predict({ key: 'frame-0050', sensor: '150' });
      expect(refused).toMatchObject({ status: 503, body: { error: { code: 'registry_unavailable' } } });
      expect(refused.headers.get('retry-after')).toBe('5');
    } finally {
      failing.delete('claimIdempotencyKey');
    }
    expect((await storedFrames('served')).filter((f) => f.sensorValue === 150)).toHaveLength(0);
    expect((await predict({ key: 'frame-0050', sensor: '150' })).status).toBe(200);

    // The frame is stored and answered; its claim stays pending, so a repeat waits rather than store it again.
    failing.add('settleIdempotencyKey');
    try {
      expect((await predict({ key: 'frame-0051', sensor: '151' })).status).toBe(200);
    } finally {
      failing.delete('settleIdempotencyKey');
    }
    expect((await predict({ key: 'frame-0051', sensor: '151' })).body.error.code).toBe('idempotency_in_progress');
    expect((await storedFrames('served')).filter((f) => [150, 151].includes(f.sensorValue!))).toHaveLength(2);
  });

  it('dates a frame by its frame_age_ms, and refuses one older than FRAME_MAX_AGE_HOURS (400 frame_too_old)', async () => {
    const before = Date.now();
    expect((await predict({ key: 'frame-0011', sensor: '131', ageMs: '90000' })).status).toBe(200);
    const [stored] = (await storedFrames('served')).filter((f) => f.sensorValue === 131);
    expect(stored.time).toBeGreaterThanOrEqual(before - 90_000);
    expect(stored.time).toBeLessThanOrEqual(Date.now() - 90_000);
    const tooOld = await predict({ sensor: '132', ageMs: String(8 * 24 * 3600 * 1000) });
    expect(tooOld).toMatchObject({ status: 400, body: { error: { code: 'frame_too_old' } } });
    expect(await predict({ sensor: '132', ageMs: '-5' })).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
  });
});
