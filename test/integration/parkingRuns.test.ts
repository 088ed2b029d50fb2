import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../api/auth.js';
import type { ParkingRunReport } from '../../contracts/http/parking.js';
import { adminCall, createServedAndFreshDeployments, startApi, type ApiHarness } from '../support/apiHarness.js';
import { Scrape } from '../support/prometheus.js';

const noTemporal = () => Promise.reject(new Error('Temporal is not part of this test'));
const rovers: { id: string; token: string; deployment: 'served' | 'fresh' }[] = [
  { id: 'rover-served', token: 'token-served-0123456789', deployment: 'served' },
  { id: 'rover-fresh', token: 'token-fresh-0123456789', deployment: 'fresh' },
];
const LONELY = { id: 'rover-lonely', token: 'token-lonely-0123456789' };

function report(runId: string, overrides: Partial<ParkingRunReport> = {}): ParkingRunReport {
  return {
    runId,
    mode: 'model',
    startedAt: '2026-12-06T08:00:00.000Z',
    endedAt: '2026-12-06T08:00:20.000Z',
    frames: 80,
    steered: { model: 70, laser: 10, stopped: 0 },
    outcome: 'parked',
    finalLaserMm: 14,
    finalTrueMm: 12,
    modelVersion: 1,
    stopReason: 'model',
    simulated: true,
    preset: 'beige',
    ...overrides,
  };
}

/** The rover's own routes beside /predict (GET /clients/me, POST /parking-runs) and the parking reads, on the real API. */
describe('a rover asks who it is and reports its parking runs', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await startApi(noTemporal);
    await createServedAndFreshDeployments(api.stores, rovers, 'run-parking');
    await api.stores.registry.createClient({ id: LONELY.id, name: 'Lonely', tokenHash: hashToken(LONELY.token), deploymentId: null });
  });
  afterAll(async () => api?.close());

  const asRover = async (token: string, method: string, route: string, body?: unknown) => {
    const res = await fetch(api.url + route, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('GET /clients/me: the rover, its deployment and the version it gets now; refuses another token', async () => {
    expect(await asRover(rovers[0].token, 'GET', '/clients/me')).toEqual({
      status: 200,
      body: {
        client: { id: 'rover-served', name: 'rover-served' },
        deployment: { id: 'served', modelName: 'distance', currentVersion: 1 },
      },
    });
    expect((await asRover(rovers[1].token, 'GET', '/clients/me')).body.deployment).toEqual({
      id: 'fresh',
      modelName: 'untrained',
      currentVersion: null,
    });
    expect((await asRover(LONELY.token, 'GET', '/clients/me')).body).toEqual({
      client: { id: LONELY.id, name: 'Lonely' },
      deployment: null,
    });
    expect((await asRover('not-a-rover-token', 'GET', '/clients/me')).body.error.code).toBe('invalid_token');
    expect((await fetch(`${api.url}/clients/me`)).status).toBe(401);
  });

  it('POST /parking-runs stores a run once: 201 first, the stored run again (200, replayed) on a repeat', async () => {
    const first = await asRover(rovers[0].token, 'POST', '/parking-runs', report('run-00000001'));
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      replayed: false,
      run: { runId: 'run-00000001', client: 'rover-served', deployment: 'served', preset: 'beige' },
    });
    const again = await asRover(rovers[0].token, 'POST', '/parking-runs', report('run-00000001', { outcome: 'hit' }));
    expect(again).toEqual({ status: 200, body: { run: first.body.run, replayed: true } });
    // The run id is the rover's own: another rover's run of the same id is another run.
    expect((await asRover(rovers[1].token, 'POST', '/parking-runs', report('run-00000001'))).status).toBe(201);
    const listed = await adminCall(api.url, 'GET', '/parking-runs?client=rover-served');
    expect(listed.body.runs).toEqual([first.body.run]);
  });

  it('refuses a malformed report (400) and an impossible one (422), storing neither', async () => {
    const malformed = await asRover(rovers[0].token, 'POST', '/parking-runs', { ...report('run-00000002'), outcome: 'crashed' });
    expect(malformed).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    const backwards = await asRover(
      rovers[0].token,
      'POST',
      '/parking-runs',
      report('run-00000003', { startedAt: '2026-12-06T09:00:00Z', endedAt: '2026-12-06T08:00:00Z' }),
    );
    expect(backwards).toMatchObject({ status: 422, body: { error: { code: 'invalid_run' } } });
    const runs = (await adminCall(api.url, 'GET', '/parking-runs?client=rover-served')).body.runs as { runId: string }[];
    expect(runs.map((r) => r.runId)).toEqual(['run-00000001']);
    expect((await asRover('not-a-rover-token', 'POST', '/parking-runs', report('run-00000004'))).status).toBe(401);
  });

  it("GET /deployments/:id/parking: a deployment's success by steering mode and model version; counted in parking_runs_total", async () => {
    const runs: [string, Partial<ParkingRunReport>][] = [
      ['run-v1-model-a', { outcome: 'hit', finalLaserMm: 0, finalTrueMm: -3 }],
      ['run-v1-model-b', { outcome: 'early', finalLaserMm: 60, finalTrueMm: 57 }],
      ['run-v2-model-a', { modelVersion: 2, finalTrueMm: 15 }],
      ['run-v1-laser-a', { mode: 'laser', stopReason: 'laser', finalTrueMm: null, finalLaserMm: 18 }],
    ];
    for (const [runId, overrides] of runs)
      expect((await asRover(rovers[0].token, 'POST', '/parking-runs', report(runId, overrides))).status).toBe(201);
    const summary = await adminCall(api.url, 'GET', '/deployments/served/parking');
    expect(summary.status).toBe(200);
    expect(summary.body).toEqual({
      deployment: 'served',
      since: null,
      groups: [
        {
          mode: 'laser',
          modelVersion: 1,
          runs: 1,
          parked: 1,
          hit: 0,
          early: 0,
          successRate: 1,
          parkedByModel: 0,
          laserStops: 0,
          meanFinalMm: 18,
        },
        {
          mode: 'model',
          modelVersion: 1,
          runs: 3,
          parked: 1,
          hit: 1,
          early: 1,
          successRate: 1 / 3,
          parkedByModel: 1,
          laserStops: 0,
          meanFinalMm: (12 - 3 + 57) / 3,
        },
        {
          mode: 'model',
          modelVersion: 2,
          runs: 1,
          parked: 1,
          hit: 0,
          early: 0,
          successRate: 1,
          parkedByModel: 1,
          laserStops: 0,
          meanFinalMm: 15,
        },
      ],
    });
    const later = await adminCall(api.url, 'GET', `/deployments/served/parking?since=${new Date(Date.now() + 60_000).toISOString()}`);
    expect(later.body.groups).toEqual([]);
    expect((await adminCall(api.url, 'GET', '/deployments/nowhere/parking')).status).toBe(404);
    expect((await adminCall(api.url, 'GET', '/parking-runs?since=yesterday')).status).toBe(400);

    const scrape = await Scrape.of(`${api.url}/metrics`);
    expect(scrape.value('parking_runs_total', { deployment: 'served', mode: 'model' })).toBe(4);
    expect(scrape.value('parking_runs_total', { deployment: 'served', mode: 'model', outcome: 'hit' })).toBe(1);
    expect(scrape.value('parking_runs_total', { deployment: 'served', mode: 'laser', outcome: 'parked' })).toBe(1);
    expect(scrape.value('parking_runs_total', { deployment: 'fresh' })).toBe(1);
  });
});
