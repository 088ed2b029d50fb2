import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeStores, type Stores } from '../../core/stores/index.js';
import { openStoresIn } from '../support/embeddedStores.js';
import { spawnApi, type ApiProcess } from '../support/apiProcess.js';
import { createServedAndFreshDeployments } from '../support/apiHarness.js';
import { eventually } from '../support/eventually.js';
import { syntheticFrame } from '../support/syntheticFrames.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';

/**
 * The API's whole data folder (spool, SQLite registry and measurements, objects) on a real tmpfs
 * that fills up while four rovers drive: every frame answered 200 (or 503 no_model, which also
 * promises the frame was recorded) must be stored with its object once space is back, without a
 * restart; every other frame must have been refused with a 503 and Retry-After; no temp file may remain.
 */
describe('a full data filesystem loses no acknowledged frame', () => {
  let disk: Tmpfs;
  let stores: Stores;
  let api: ApiProcess | undefined;
  let jpeg: Buffer;
  let nextSensor = 1;

  const rovers: { id: string; token: string; deployment: 'served' | 'fresh' }[] = [
    { id: 'rover-a', token: 'token-a-0123456789abc', deployment: 'served' },
    { id: 'rover-b', token: 'token-b-0123456789abc', deployment: 'fresh' },
    { id: 'rover-c', token: 'token-c-0123456789abc', deployment: 'served' },
    { id: 'rover-d', token: 'token-d-0123456789abc', deployment: 'fresh' },
  ];

  interface Answer {
    deployment: string;
    sensor: number;
    status: number;
    code?: string;
    requestId?: string;
    retryAfter: string | null;
  }

  beforeAll(async () => {
    disk = mountTmpfs(48 * 1024 * 1024, 'mlops-full-disk-');
    const dir = disk.dir;
    stores = await openStoresIn(dir);
    await createServedAndFreshDeployments(stores, rovers, 'run-full-disk');
    jpeg = await syntheticFrame(120, 160, 120);
  });

  afterAll(async () => {
    await api?.kill9();
    if (stores) await closeStores(stores);
    disk?.unmount();
  });

  /** Each rover sends frames back to back until `stop` is set; every answer is noted. */
  async function drive(url: string, stop: { now: boolean }, answers: Answer[]): Promise<void> {
    const loop = async (rover: (typeof rovers)[number]) => {
      while (!stop.now) {
        const sensor = nextSensor++;
        const form = new FormData();
        form.set('client_id', rover.id);
        form.set('sensor_value', String(sensor));
        form.set('image', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
        const res = await fetch(`${url}/predict`, { method: 'POST', body: form, headers: { authorization: `Bearer ${rover.token}` } });
        const body = (await res.json()) as { request_id?: string; error?: { code: string } };
        answers.push({
          deployment: rover.deployment,
          sensor,
          status: res.status,
          code: body.error?.code,
          requestId: body.request_id,
          retryAfter: res.headers.get('retry-after'),
        });
        // A refused rover waits a little, as the real client does, rather than spinning.
        if (res.status !== 200) await new Promise((r) => setTimeout(r, 50));
      }
    };
    await Promise.all(rovers.map(loop));
  }

  const acknowledged = (a: Answer) => a.status === 200 || (a.status === 503 && a.code === 'no_model');

  /** The acknowledged frames not stored yet (keyed by deployment and sensor value, unique per frame). */
  async function unstored(acks: Answer[]): Promise<Answer[]> {
    const rows = await stores.measurements.datasetRows(['served', 'fresh']);
    const stored = new Map(rows.map((r) => [`${r.deployment}/${r.sensorValue}`, r]));
    return acks.filter((a) => !stored.has(`${a.deployment}/${a.sensor}`));
  }

  function tempFiles(dir: string): string[] {
    return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.tmp'));
  }

  it('stores every acknowledged frame once space is back, without a restart', async () => {
    api = await spawnApi({ DATA_DIR: disk.dir });
    const stop = { now: false };
    const answers: Answer[] = [];
    const driving = drive(api.url, stop, answers);
    const waitFor = async (check: () => boolean, what: string) => {
      const deadline = Date.now() + 120_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`${what} did not happen within 120 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await waitFor(() => answers.filter(acknowledged).length >= 20, '20 frames acknowledged before the disk fills');

      // The disk fills up; then space trickles back a page or two at a time and is taken again at once,
      // as on a disk other writers share: spool writes, object writes and record writes fail or land in part.
      const filler = path.join(disk.dir, 'filler');
      disk.fill(filler);
      const fullFrom = answers.length;
      const fullUntil = Date.now() + 8_000;
      while (Date.now() < fullUntil) {
        await new Promise((r) => setTimeout(r, 100));
        const size = fs.statSync(filler).size;
        fs.truncateSync(filler, Math.max(0, size - 6000));
      }
      disk.fill(filler);
      await waitFor(() => answers.length >= fullFrom + 20, '20 answers while the disk is full');
      await new Promise((r) => setTimeout(r, 2_000));
      const duringFull = answers.slice(fullFrom);

      fs.rmSync(filler);
      const freedAt = Date.now();
      const ackedAtFree = answers.filter(acknowledged);
      const unstoredAtFree = (await unstored(ackedAtFree)).length;
      // Rovers keep driving for a while after space is back.
      await waitFor(() => answers.filter(acknowledged).length >= ackedAtFree.length + 20, '20 frames acknowledged after space is back');
      stop.now = true;
      await driving;

      const acks = answers.filter(acknowledged);
      const refused = answers.filter((a) => !acknowledged(a));
      let missing: Answer[] = acks;
      const allStored = await eventually(
        async () => {
          missing = await unstored(acks);
          expect(missing.length).toBe(0);
          return Date.now();
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      ).catch(() => undefined);
      const byCode = Object.entries(
        refused.reduce<Record<string, number>>((n, a) => ({ ...n, [`${a.status} ${a.code}`]: (n[`${a.status} ${a.code}`] ?? 0) + 1 }), {}),
      );
      // One log line per refused frame whose batch reached the spool file only in part.
      const shortWrites = api
        .output()
        .split('\n')
        .filter((line) => / after \d+ of \d+ bytes/.test(line)).length;
      console.log(
        `[full disk] answers ${answers.length} (${duringFull.length} while full): acknowledged ${acks.length}, ` +
          `refused after a short spool write ${shortWrites}, ` +
          `refused ${refused.length} (${byCode.map(([k, v]) => `${k}: ${v}`).join(', ')}); ` +
          `unstored when space came back ${unstoredAtFree} of ${ackedAtFree.length}; ` +
          (allStored
            ? `all acknowledged frames stored ${((allStored - freedAt) / 1000).toFixed(1)} s after space came back`
            : `${missing.length} acknowledged frames still unstored ${((Date.now() - freedAt) / 1000).toFixed(1)} s after space came back`),
      );

      expect(
        duringFull.some((a) => a.status === 503 && a.code === 'spool_unavailable'),
        'the spool refused frames while full',
      ).toBe(true);
      expect(refused.filter((a) => a.status !== 503 || !a.retryAfter)).toEqual([]);
      expect(
        missing.map((a) => `${a.deployment}/${a.sensor} ${a.requestId ?? 'no_model'}`),
        `${missing.length} of ${acks.length} acknowledged frames not stored`,
      ).toEqual([]);

      // Each stored frame has its object, under its request id; no refused frame was stored.
      const rows = await stores.measurements.datasetRows(['served', 'fresh']);
      const stored = new Map(rows.map((r) => [`${r.deployment}/${r.sensorValue}`, r]));
      for (const ack of acks) {
        const row = stored.get(`${ack.deployment}/${ack.sensor}`)!;
        if (ack.requestId) expect(row.imageKey).toBe(`features/${ack.deployment}/${ack.requestId}.jpg`);
        expect(await stores.objects.exists(row.imageKey), row.imageKey).toBe(true);
      }
      expect(refused.filter((a) => stored.has(`${a.deployment}/${a.sensor}`))).toEqual([]);
      expect(tempFiles(disk.dir)).toEqual([]);
      expect(api.child.exitCode, 'the API kept running').toBeNull();
    } finally {
      stop.now = true;
      await driving.catch(() => undefined);
    }
  });
});
