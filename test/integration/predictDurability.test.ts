import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeStores, type Stores } from '../../core/stores/index.js';
import { openStoresIn } from '../support/embeddedStores.js';
import { spawnApi, type ApiProcess } from '../support/apiProcess.js';
import { createServedAndFreshDeployments } from '../support/apiHarness.js';
import { syntheticFrame } from '../support/syntheticFrames.js';

/**
 * kill -9 of a real API process while rovers drive: every frame answered 200 (or 503 no_model,
 * which also promises the frame was recorded) must be in the measurement store, with its image
 * in the object store, once the API is back.
 */
describe('no acknowledged frame is lost when the API is killed', () => {
  let dir: string;
  let env: { DATA_DIR: string };
  let stores: Stores;
  let jpeg: Buffer;
  let api: ApiProcess;
  const started: ApiProcess[] = [];
  const start = async () => {
    api = await spawnApi(env);
    started.push(api);
    return api;
  };
  let nextSensor = 1;

  const rovers: { id: string; token: string; deployment: 'served' | 'fresh' }[] = [
    { id: 'rover-served', token: 'token-served-0123456789', deployment: 'served' },
    { id: 'rover-fresh', token: 'token-fresh-0123456789', deployment: 'fresh' },
  ];

  interface Ack {
    deployment: string;
    sensor: number;
    requestId?: string;
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-kill9-'));
    env = { DATA_DIR: dir };
    stores = await openStoresIn(dir);
    await createServedAndFreshDeployments(stores, rovers, 'run-kill9');
    jpeg = await syntheticFrame(120, 160, 120);
  });

  afterAll(async () => {
    for (const p of started) await p.kill9();
    await closeStores(stores);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Rovers send frames back to back until `stop` is set, noting what the API acknowledged in `acks`. */
  async function drive(url: string, loops: number, stop: { now: boolean }, acks: Ack[]): Promise<void> {
    const loop = async (rover: (typeof rovers)[number]) => {
      while (!stop.now) {
        const sensor = nextSensor++;
        const form = new FormData();
        form.set('client_id', rover.id);
        form.set('sensor_value', String(sensor));
        form.set('image', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
        try {
          const res = await fetch(`${url}/predict`, { method: 'POST', body: form, headers: { authorization: `Bearer ${rover.token}` } });
          const body = (await res.json()) as { request_id?: string; error?: { code: string } };
          if (res.status === 200) acks.push({ deployment: rover.deployment, sensor, requestId: body.request_id });
          else if (res.status === 503 && body.error?.code === 'no_model') acks.push({ deployment: rover.deployment, sensor });
          else throw new Error(`unexpected answer ${res.status} ${JSON.stringify(body)}`);
        } catch (err) {
          // Requests cut off by the kill were never acknowledged.
          if (!stop.now) throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: loops }, (_, i) => loop(rovers[i % rovers.length])));
  }

  const answered = (acks: Ack[]) => acks.filter((a) => a.requestId).length;
  const noModel = (acks: Ack[]) => acks.filter((a) => !a.requestId).length;

  /**
   * Drives 6 rovers against a fresh API process and kills it (SIGKILL) once `killAfter` frames of each kind were
   * acknowledged (answered with a prediction, and 503 no_model) or after `maxMs`. Counted by kind: the no_model answers
   * come at once while the served deployment's first frames wait for its model, so a total could be nearly all of one kind.
   */
  async function driveThenKill(killAfter: number, maxMs: number, onStarted?: () => void): Promise<Ack[]> {
    await start();
    onStarted?.();
    const stop = { now: false };
    const acks: Ack[] = [];
    const driving = drive(api.url, 6, stop, acks);
    const deadline = Date.now() + maxMs;
    while (Math.min(answered(acks), noModel(acks)) < killAfter && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    stop.now = true;
    await api.kill9();
    await driving;
    return acks;
  }

  async function expectAllStored(acks: Ack[]) {
    const deadline = Date.now() + 90_000;
    let missing: Ack[] = acks;
    while (Date.now() < deadline) {
      const rows = await stores.measurements.datasetRows(['served', 'fresh']);
      const stored = new Map(rows.map((r) => [`${r.deployment}/${r.sensorValue}`, r]));
      missing = acks.filter((a) => !stored.has(`${a.deployment}/${a.sensor}`));
      if (missing.length === 0) {
        for (const ack of acks) {
          const row = stored.get(`${ack.deployment}/${ack.sensor}`)!;
          if (ack.requestId) expect(row.imageKey).toBe(`features/${ack.deployment}/${ack.requestId}.jpg`);
          expect(await stores.objects.exists(row.imageKey)).toBe(true);
        }
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(missing, `${missing.length} of ${acks.length} acknowledged frames are not stored`).toEqual([]);
  }

  it('keeps every frame answered before a kill -9 mid-stream', async () => {
    const acks = await driveThenKill(40, 60_000);
    expect(answered(acks)).toBeGreaterThan(10);
    expect(noModel(acks)).toBeGreaterThan(10);
    await start();
    await expectAllStored(acks);
    await api.stop();
  });

  it('keeps every frame answered while the measurement store hung, then a kill -9', async () => {
    // Once the API is up, another connection holds the write lock: its record writes wait, as on a hung server.
    const lock = new Database(path.join(dir, 'measurements.db'));
    lock.pragma('busy_timeout = 10000');
    let acks: Ack[];
    try {
      acks = await driveThenKill(20, 10_000, () => lock.exec('BEGIN EXCLUSIVE'));
    } finally {
      if (lock.inTransaction) lock.exec('ROLLBACK');
      lock.close();
    }
    expect(acks.length).toBeGreaterThan(5);
    await start();
    await expectAllStored(acks);
    await api.stop();
  });
});
