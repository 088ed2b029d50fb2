import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '../../api/errors.js';
import { workflowRunParams } from '../../api/routes/params.js';
import { ADMIN_TOKEN, startApi, type ApiHarness } from '../support/apiHarness.js';
import { startTemporal } from '../support/temporalEnv.js';

describe('GET /workflows/:workflowId/runs/:runId parameters', () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;
  const get = async (path: string) => {
    const res = await fetch(api.url + path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    env = await startTemporal();
    api = await startApi(async () => env.client);
  });

  afterAll(async () => {
    await api?.close();
    await env?.teardown();
  });

  it('the schema takes a UUID run id and refuses anything else with 400', () => {
    const runId = randomUUID();
    expect(validate(workflowRunParams, { workflowId: 'train-and-register-distance', runId })).toEqual({
      workflowId: 'train-and-register-distance',
      runId,
    });
    expect(() => validate(workflowRunParams, { workflowId: 'x', runId: 'not-a-uuid' }, 'path')).toThrow(/runId: must be a Temporal run id/);
  });

  it('answers 400 for a run id that is not a UUID, never 500', async () => {
    expect(await get('/workflows/x/runs/not-a-uuid')).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
  });

  it('answers 404 for a well-formed run id of no run', async () => {
    expect(await get(`/workflows/x/runs/${randomUUID()}`)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });
});
