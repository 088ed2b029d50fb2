import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainWorkflowIdFor } from '../../workflows/trainAndRegister/contract.js';
import { ADMIN_TOKEN, registerUntrainedVersion, startApi, WEBHOOK_TOKEN, type ApiHarness } from '../support/apiHarness.js';
import { eventually } from '../support/eventually.js';
import { startTemporal } from '../support/temporalEnv.js';

/** Retrain asks: recorded first, repeats decided by a unique key, each alert of a group on its own, reruns through the API. */
describe('retrain requests', () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;

  const call = async (method: string, route: string, body?: unknown, token = ADMIN_TOKEN) => {
    const res = await fetch(api.url + route, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const alert = (labels: Record<string, string>, fingerprint: string) => ({
    status: 'firing',
    labels: { alertname: 'SaturationDrift', ...labels },
    startsAt: '2026-11-30T10:00:00Z',
    fingerprint,
  });
  const notify = (...alerts: unknown[]) => call('POST', '/webhooks/grafana', { status: 'firing', alerts }, WEBHOOK_TOKEN);
  const runsOf = async (model: string) => {
    const ids: string[] = [];
    for await (const run of env.client.workflow.list({ query: `WorkflowId = "${trainWorkflowIdFor(model)}"` })) ids.push(run.runId);
    return ids;
  };

  beforeAll(async () => {
    env = await startTemporal();
    api = await startApi(async () => env.client);
    for (const [id, modelName] of [
      ['beige', 'distance'],
      ['green', 'distance'],
      ['other', 'width'],
      ['orphan', 'unconfigured'],
    ])
      expect((await call('POST', '/deployments', { id, modelName })).status).toBe(201);
    for (const model of ['distance', 'width']) {
      const res = await call('PUT', `/models/${model}/training-config`, { deployments: [model === 'distance' ? 'beige' : 'other'] });
      expect(res.status).toBe(200);
    }
  });

  afterAll(async () => {
    await api?.close();
    await env?.teardown();
  });

  it('acts once on 20 concurrent notifications of the same alert firing: one start, 19 duplicates of it', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => notify(alert({ deployment: 'green' }, 'same-firing'))));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const outcomes = answers.map((a) => a.body.results[0].outcome);
    expect(outcomes.filter((o) => o === 'started')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(19);
    const started = answers.find((a) => a.body.results[0].outcome === 'started')!.body.results[0];
    expect(started.links.status).toBe(`/workflows/${trainWorkflowIdFor('distance')}/runs/${started.runId}`);
    expect(
      answers.filter((a) => a.body.results[0].outcome === 'duplicate').every((a) => a.body.results[0].duplicateOf === started.requestId),
    ).toBe(true);
    expect(
      await eventually(() => runsOf('distance').then((ids) => (ids.length ? ids : Promise.reject(new Error('not listed yet'))))),
    ).toEqual([started.runId]);
    const history = await env.client.workflow.getHandle(trainWorkflowIdFor('distance'), started.runId).fetchHistory();
    expect(history.events!.filter((e) => e.workflowExecutionSignaledEventAttributes)).toHaveLength(1);
    await env.client.workflow.getHandle(trainWorkflowIdFor('distance'), started.runId).terminate('test done');
  });

  it('answers each alert of a group on its own: a bad one never stops the others', async () => {
    const res = await notify(
      alert({ deployment: 'beige' }, 'g1'),
      alert({ model: 'ghost' }, 'g2'),
      alert({ model: 'width', deployment: 'beige' }, 'g3'),
      alert({ deployment: 'orphan' }, 'g4'),
      { status: 'firing', labels: 'not an object' },
      alert({ deployment: 'other' }, 'g5'),
    );
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: number; outcome: string }) => [r.status, r.outcome])).toEqual([
      [202, 'started'],
      [404, 'error'],
      [422, 'ignored'],
      [409, 'error'],
      [400, 'error'],
      [202, 'started'],
    ]);
    expect(res.body.results[2].reason).toMatch(/deployment "beige" serves model "distance", not "width"/);
    expect(res.body.results[3].error).toMatchObject({ code: 'no_training_config' });
    expect(res.body.results[5].modelName).toBe('width');
    const recorded = (await call('GET', '/models/width/retrain-requests')).body.requests;
    expect(recorded.map((r: { outcome: string }) => r.outcome)).toEqual(['started']);
    // The unconfigured model's refusal is on record, without a dedupe key: the same firing acts once it is configured.
    const refused = (await call('GET', '/models/unconfigured/retrain-requests')).body.requests;
    expect(refused).toMatchObject([{ outcome: 'ignored', dedupeKey: null }]);
    for (const model of ['distance', 'width']) await env.client.workflow.getHandle(trainWorkflowIdFor(model)).terminate('test done');
  });

  it('lists valid values when a training config names unknown architectures, sweep keys or deployments', async () => {
    const put = (body: unknown) => call('PUT', '/models/distance/training-config', body);
    expect((await put({ deployments: ['beige'], architecture: 'resnet' })).body.error.message).toMatch(/"compact"\|"thesis-inception"/);
    expect((await put({ deployments: ['beige'], sweep: { epoch: [3] } })).body.error.message).toMatch(
      /unknown key\(s\) epoch \(valid: epochs, batchSizes, dropouts, learningRates\)/,
    );
    expect(await put({ deployments: ['beige', 'nowhere', 'elsewhere'] })).toMatchObject({
      status: 422,
      body: { error: { code: 'unknown_deployment', message: expect.stringContaining('nowhere, elsewhere') } },
    });
  });

  it('refuses a retrain that would train on deployments that do not exist, naming them', async () => {
    // Overrides of one ask name them...
    expect(await call('POST', '/models/distance/retrain', { overrides: { deployments: ['beige', 'nowhere'] } })).toMatchObject({
      status: 422,
      body: { error: { code: 'unknown_deployment', message: expect.stringMatching(/nowhere/) } },
    });
    // ...or the stored config still names one deleted since.
    expect((await call('POST', '/deployments', { id: 'short-lived', modelName: 'gauge' })).status).toBe(201);
    expect((await call('PUT', '/models/gauge/training-config', { deployments: ['short-lived'] })).status).toBe(200);
    expect((await call('DELETE', '/deployments/short-lived')).status).toBe(204);
    expect(await call('POST', '/models/gauge/retrain', {})).toMatchObject({
      status: 422,
      body: { error: { code: 'unknown_deployment', message: expect.stringMatching(/short-lived/) } },
    });
    expect(await runsOf('gauge')).toEqual([]);
  });

  it('says what a model that only a deployment names is missing', async () => {
    expect(await call('POST', '/models/unconfigured/retrain', {})).toMatchObject({
      status: 409,
      body: { error: { code: 'no_training_config', message: expect.stringMatching(/PUT \/models\/unconfigured\/training-config/) } },
    });
    expect((await call('GET', '/workflows/x/runs/not-a-uuid')).status).toBe(400);
  });

  it('reruns the experiment step of a version as a run of its own, with the source sweep where the ask names none', async () => {
    await registerUntrainedVersion(api.stores, 'distance', 'run-1');
    const dry = await call('POST', '/models/distance/versions/1/rerun', { sweep: { epochs: [7] }, dryRun: true });
    expect(dry.status).toBe(200);
    // The source "run" is not in Temporal here: the sweep comes from the version's own parameters.
    expect(dry.body).toMatchObject({
      outcome: 'dry-run',
      workflowId: expect.stringMatching(/^rerun-distance-v1-\d+$/),
      sweepInheritedFrom: 'source version params',
      request: { reuseDataset: { manifestKey: 'runs/test/dataset/manifest.json' }, sweep: { epochs: [7], batchSizes: [32, 64] } },
    });
    const started = await call('POST', '/models/distance/versions/1/rerun', { sweep: { epochs: [7] }, kind: 'cli', by: 'engineer' });
    expect(started).toMatchObject({ status: 202, body: { outcome: 'started', workflowId: expect.stringMatching(/^rerun-distance-v1-/) } });
    const description = await env.client.workflow.getHandle(started.body.workflowId, started.body.runId).describe();
    expect(description.searchAttributes).toMatchObject({ ModelName: ['distance'], RetrainTrigger: ['cli'] });
    expect(await description.staticSummary()).toMatch(/rerun of v1's experiment step \(cli: engineer\)/);
    await env.client.workflow.getHandle(started.body.workflowId).terminate('test done');
    expect((await call('POST', '/models/distance/versions/9/rerun', {})).status).toBe(404);
  });
});
