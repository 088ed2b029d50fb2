import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ADMIN_TOKEN } from '../../core/config.js';
import { closeStores, type Stores } from '../../core/stores/index.js';
import { createServedAndFreshDeployments } from '../support/apiHarness.js';
import { spawnApi, type ApiProcess } from '../support/apiProcess.js';
import { openStoresIn } from '../support/embeddedStores.js';
import { eventually } from '../support/eventually.js';
import { Scrape } from '../support/prometheus.js';
import { syntheticFrame } from '../support/syntheticFrames.js';

/**
 * The API process's /metrics, scraped as Prometheus would while a rover drives it: the object store refuses the first
 * frame (a file stands where its folder goes), so the frame waits in a spool that has room for one; the second frame
 * is refused with a real 503 spool_full; once the folder can be made, the spooled frame is stored.
 */
describe('GET /metrics on the API', () => {
  const rover = { id: 'rover-m', token: 'token-m-0123456789abc', deployment: 'served' as const };
  let dir: string;
  let stores: Stores;
  let api: ApiProcess;
  let jpeg: Buffer;
  let blocker: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-metrics-'));
    stores = await openStoresIn(dir);
    await createServedAndFreshDeployments(stores, [rover], 'run-metrics');
    jpeg = await syntheticFrame(120, 160, 120);
    blocker = path.join(dir, 'objects', 'features', 'served');
    fs.mkdirSync(path.dirname(blocker), { recursive: true });
    fs.writeFileSync(blocker, 'not a folder');
    // Room for one spooled frame (its image, a 16-byte header and about 300 bytes of metadata), not for two.
    api = await spawnApi({ DATA_DIR: dir, SPOOL_MAX_BYTES: String(jpeg.length + 700) });
  });

  afterAll(async () => {
    await api?.stop();
    if (stores) await closeStores(stores);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const scrape = () => Scrape.of(`${api.url}/metrics`);
  const predict = async () => {
    const form = new FormData();
    form.set('sensor_value', '120');
    form.set('image', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
    const res = await fetch(`${api.url}/predict`, { method: 'POST', body: form, headers: { authorization: `Bearer ${rover.token}` } });
    return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
  };

  it('counts frames received, acknowledged and stored, 503s by reason, spool depth and lag, requests by route template', async () => {
    const before = await scrape();
    expect(before.types.get('api_frames_received_total')).toBe('counter');
    expect(before.types.get('api_http_request_duration_seconds')).toBe('histogram');
    expect(before.value('api_frames_received_total')).toBe(0);
    expect(before.value('api_frames_acknowledged_total')).toBe(0);
    expect(before.value('api_frames_stored_total')).toBe(0);
    expect(before.value('process_cpu_seconds_total')).toBeGreaterThan(0);

    expect((await predict()).status).toBe(200);
    expect(await predict()).toMatchObject({ status: 503, body: { error: { code: 'spool_full' } } });
    expect((await fetch(`${api.url}/readyz`)).status).toBe(503);
    const deployment = await fetch(`${api.url}/deployments/served`, { headers: { authorization: `Bearer ${DEV_ADMIN_TOKEN}` } });
    expect(deployment.status).toBe(200);

    const during = await eventually(async () => {
      const s = await scrape();
      expect(s.value('api_frame_store_failures_total')).toBeGreaterThan(0);
      return s;
    });
    expect(during.value('api_frames_received_total')).toBe(2);
    expect(during.value('api_frames_acknowledged_total')).toBe(1);
    expect(during.value('api_frames_stored_total')).toBe(0);
    expect(during.value('api_refused_requests_total', { route: '/predict', status: '503', reason: 'spool_full' })).toBe(1);
    expect(during.value('api_refused_requests_total', { route: '/readyz', status: '503', reason: 'not_ready' })).toBe(1);
    expect(during.value('api_spool_frames')).toBe(1);
    expect(during.value('api_spool_bytes')).toBeGreaterThan(jpeg.length);
    expect(during.value('api_analysis_lag_seconds')).toBeGreaterThan(0);
    expect(during.value('api_model_loads_total', { outcome: 'loaded' })).toBe(1);
    expect(during.value('api_model_load_duration_seconds_count', { outcome: 'loaded' })).toBe(1);
    expect(during.value('api_model_cache_versions')).toBe(1);
    expect(during.value('api_model_cache_bytes')).toBeGreaterThan(0);
    // Both frames were predicted (the second was refused at the spool, after its prediction).
    expect(during.value('api_micro_batch_size_count', { batcher: 'predict' })).toBeGreaterThanOrEqual(1);
    expect(during.value('api_registry_lookups_total', { lookup: 'token', result: 'miss' })).toBeGreaterThanOrEqual(1);
    expect(during.value('api_registry_lookups_total', { lookup: 'token', result: 'hit' })).toBeGreaterThanOrEqual(1);
    expect(during.value('api_http_requests_total', { route: '/predict', method: 'POST', status: '200' })).toBe(1);
    expect(during.value('api_http_requests_total', { route: '/deployments/:id', method: 'GET', status: '200' })).toBe(1);
    expect(during.value('api_http_request_duration_seconds_count', { route: '/deployments/:id' })).toBe(1);
    const routes = new Set(during.series('api_http_requests_total').map((s) => s.labels.route));
    expect([...routes].filter((r) => r.includes('served'))).toEqual([]);

    fs.rmSync(blocker);
    const after = await eventually(
      async () => {
        const s = await scrape();
        expect(s.value('api_frames_stored_total')).toBe(1);
        return s;
      },
      { timeoutMs: 60_000 },
    );
    expect(after.value('api_spool_frames')).toBe(0);
    expect(after.value('api_analysis_lag_seconds')).toBe(0);
    expect(after.value('api_micro_batch_size_count', { batcher: 'analysis' })).toBeGreaterThanOrEqual(1);
    expect(after.value('api_micro_batch_size_count', { batcher: 'records' })).toBeGreaterThanOrEqual(1);
    console.log(`one scrape: ${after.types.size} metric families, ${after.samples.length} samples`);
  });
});
