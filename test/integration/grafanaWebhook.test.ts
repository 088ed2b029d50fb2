import fs from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainWorkflowIdFor } from '../../workflows/trainAndRegister/contract.js';
import { ADMIN_TOKEN, startApi, WEBHOOK_TOKEN, type ApiHarness } from '../support/apiHarness.js';
import { eventually } from '../support/eventually.js';
import { startTemporal } from '../support/temporalEnv.js';

const fixture = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../fixtures/grafana-webhook', `${name}.json`), 'utf8'));
const workflowId = trainWorkflowIdFor('distance');

/** The webhook contract with Grafana's own payloads: firing starts or joins, resolved starts nothing, repeats never start twice. */
describe('Grafana webhook contract', () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;

  const call = async (route: string, body: unknown, token: string) => {
    const res = await fetch(api.url + route, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  const notify = async (payload: unknown) => {
    const res = await call('/webhooks/grafana', payload, WEBHOOK_TOKEN);
    expect(res.status).toBe(200);
    return res.body.results as { outcome: string; runId?: string; reason?: string }[];
  };
  /** The list comes from Temporal's visibility store, which is eventually consistent: poll it until it shows `expected`. */
  const expectRuns = (expected: (string | undefined)[]) =>
    eventually(async () => {
      const ids: string[] = [];
      for await (const run of env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) ids.push(run.runId);
      expect(ids.sort()).toEqual([...expected].sort());
    });
  /** Describing the workflow id reads the latest run itself, which is consistent at once. */
  const latestRun = async () => (await env.client.workflow.getHandle(workflowId).describe()).runId;
  const signalsTo = async (runId: string) => {
    const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    return history.events!.filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  };

  beforeAll(async () => {
    env = await startTemporal();
    api = await startApi(async () => env.client);
    for (const id of ['beige', 'green', 'red'])
      expect((await call('/deployments', { id, modelName: 'distance' }, ADMIN_TOKEN)).status).toBe(201);
    const config = { deployments: ['beige'], width: 20, height: 15, sweep: { epochs: [1] } };
    const res = await fetch(`${api.url}/models/distance/training-config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(config),
    });
    expect(res.status).toBe(200);
  });

  afterAll(async () => {
    await api?.close();
    await env?.teardown();
  });

  it('starts nothing on a resolved notification', async () => {
    expect(await notify(fixture('resolved'))).toMatchObject([{ outcome: 'ignored', reason: 'resolved alerts start nothing' }]);
    await expect(latestRun()).rejects.toThrow(WorkflowNotFoundError);
  });

  it('starts one run on firing and treats the repeated notification as a duplicate', async () => {
    const [started] = await notify(fixture('firing'));
    expect(started.outcome).toBe('started');
    expect(await notify(fixture('firing'))).toMatchObject([{ outcome: 'duplicate' }]);
    expect(await latestRun()).toBe(started.runId);
    await expectRuns([started.runId]);
    // signalWithStart hands the starting alert to the run as its first signal.
    expect(await signalsTo(started.runId!)).toBe(1);
  });

  it('handles a grouped notification alert by alert: known firing is a duplicate, new firing joins, resolved is ignored', async () => {
    const runId = await latestRun();
    const outcomes = await notify(fixture('grouped'));
    expect(outcomes.map((o) => o.outcome)).toEqual(['duplicate', 'joined', 'ignored']);
    expect(outcomes[1].runId).toBe(runId);
    expect((await notify(fixture('grouped'))).map((o) => o.outcome)).toEqual(['duplicate', 'duplicate', 'ignored']);
    expect(await latestRun()).toBe(runId);
    await expectRuns([runId]);
    expect(await signalsTo(runId)).toBe(2);
  });

  it('refuses Grafana payloads without the token or with a broken body, and ignores alerts about unknown deployments', async () => {
    expect((await call('/webhooks/grafana', fixture('firing'), 'wrong-token')).status).toBe(401);
    expect((await call('/webhooks/grafana', { ...fixture('firing'), alerts: [] }, WEBHOOK_TOKEN)).status).toBe(400);
    const unknown = fixture('firing');
    unknown.alerts[0].labels.deployment = 'nowhere';
    unknown.alerts[0].fingerprint = 'ffffffffffffffff';
    expect(await notify(unknown)).toMatchObject([{ outcome: 'ignored' }]);
  });

  it('starts a new run when the alert fires again after its run has ended', async () => {
    const first = await latestRun();
    await env.client.workflow.getHandle(workflowId, first).terminate('test: the first run is over');
    const again = fixture('firing');
    again.alerts[0].startsAt = '2026-11-26T12:00:00Z';
    const [started] = await notify(again);
    expect(started.outcome).toBe('started');
    expect(started.runId).not.toBe(first);
    await expectRuns([first, started.runId]);
    await env.client.workflow.getHandle(workflowId, started.runId).terminate('test done');
  });
});
