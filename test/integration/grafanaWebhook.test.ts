import fs from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRetrain } from '../../control/retrainRequests.js';
import { driftDedupeKey } from '../../core/drift/driftReport.js';
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
    return res.body.results as {
      status: number;
      outcome: string;
      runId?: string;
      reason?: string;
      requestId?: number;
      duplicateOf?: number;
    }[];
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

  /** The monitor-verdict alert of deployment `deployment` and serving version `version`, at one firing of its own. */
  const verdictAlert = (deployment: string, version: string, fingerprint: string, startsAt: string) => {
    const payload = fixture('monitor-verdict');
    Object.assign(payload.alerts[0], { fingerprint, startsAt });
    Object.assign(payload.alerts[0].labels, { deployment, model_version: version });
    return payload;
  };

  it('asks once per deployment and serving version for the monitor-verdict rule, whatever the firing', async () => {
    const [first] = await notify(fixture('monitor-verdict'));
    expect(first).toMatchObject({ status: 202 });
    expect(['started', 'joined']).toContain(first.outcome);
    // The same drift alerting again (resolved in between, or a new alert instance): a new fingerprint and start.
    const [again] = await notify(verdictAlert('red', '3', '0d5e8a2f61c947b3', '2026-11-27T11:40:00Z'));
    expect(again).toMatchObject({ status: 202, outcome: 'duplicate', duplicateOf: first.requestId });
    // A new serving version re-arms it.
    const [next] = await notify(verdictAlert('red', '4', '0d5e8a2f61c947b3', '2026-11-27T11:40:00Z'));
    expect(['started', 'joined']).toContain(next.outcome);
    const recorded = await api.stores.registry.listRetrainRequests({ modelName: 'distance', limit: 100 });
    expect(recorded.find((r) => r.id === first.requestId)?.trigger).toBe('grafana');
  });

  it("is a duplicate of the monitor's own ask for the same drift, and the monitor's ask is a duplicate of Grafana's", async () => {
    const deps = {
      registry: api.stores.registry,
      temporal: async () => env.client,
      temporalUi: { url: 'http://ui', namespace: 'default' },
    };
    const monitorAsk = (version: number) =>
      requestRetrain(deps, {
        modelName: 'distance',
        trigger: { kind: 'drift-monitor', by: `drift monitor: green v${version}` },
        payload: { verdict: 'drift' },
        extraDeployments: ['green'],
        dedupeKey: driftDedupeKey('green', version),
      });
    const monitorFirst = await monitorAsk(7);
    expect(['started', 'joined']).toContain(monitorFirst.outcome);
    expect(await notify(verdictAlert('green', '7', '5a0c3e9d7b214f68', '2026-11-27T12:00:00Z'))).toMatchObject([
      { status: 202, outcome: 'duplicate', duplicateOf: monitorFirst.requestId },
    ]);

    const [grafanaFirst] = await notify(verdictAlert('green', '8', '5a0c3e9d7b214f68', '2026-11-27T13:00:00Z'));
    expect(['started', 'joined']).toContain(grafanaFirst.outcome);
    expect(await monitorAsk(8)).toMatchObject({ outcome: 'duplicate', duplicateOf: grafanaFirst.requestId });
  });

  it('records a sensor-fault alert as an annotation of its deployment, once per firing, and never retrains for it', async () => {
    const before = (await api.stores.registry.listRetrainRequests({ modelName: 'distance', limit: 1000 })).length;
    const [answer] = await notify(fixture('sensor-fault'));
    expect(answer).toMatchObject({ status: 200, outcome: 'ignored', reason: expect.stringMatching(/sensor fault.*never a retrain/) });
    // Grafana repeats a notification while the alert fires: recorded once.
    expect(await notify(fixture('sensor-fault'))).toMatchObject([{ status: 200, outcome: 'ignored' }]);
    expect((await api.stores.registry.listRetrainRequests({ modelName: 'distance', limit: 1000 })).length).toBe(before);
    const notes = (await api.stores.registry.listAnnotations({ deployment: 'beige' })).filter((a) => a.tags.includes('sensor-fault'));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ deployment: 'beige', by: 'grafana' });
    expect(notes[0].text).toMatch(/laser/);
  });

  it('answers 422 for a monitor-verdict alert without an integer model_version, and still acts on the others', async () => {
    const payload = verdictAlert('red', '5', '77aa33cc55ee1100', '2026-11-27T14:00:00Z');
    const [good] = payload.alerts;
    const bad = (version: string | undefined, fingerprint: string) => {
      const alert = structuredClone(good);
      if (version === undefined) delete alert.labels.model_version;
      else alert.labels.model_version = version;
      alert.fingerprint = fingerprint;
      return alert;
    };
    payload.alerts = [bad(undefined, '01'), bad('3.5', '02'), bad('v3', '03'), bad('0', '04'), good];
    const results = await notify(payload);
    expect(results.slice(0, 4)).toEqual(
      Array.from({ length: 4 }, () =>
        expect.objectContaining({ status: 422, outcome: 'ignored', reason: expect.stringMatching(/model_version/) }),
      ),
    );
    expect(results[4]).toMatchObject({ status: 202 });
    await env.client.workflow.getHandle(workflowId).terminate('test done');
  });
});
