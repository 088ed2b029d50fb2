import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiPath } from '../../api/openapi/routeDoc.js';
import { ADMIN_TOKEN, adminCall, registerUntrainedVersion, startApi, type ApiHarness } from '../support/apiHarness.js';
import { routesOf } from '../support/expressRoutes.js';
import { startTemporal } from '../support/temporalEnv.js';

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
  components: Record<string, unknown>;
}

/** `GET /deployments/{id}` for each operation of the description. */
const operationsOf = (doc: OpenApi) =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));

describe('the API description (/openapi.json)', () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;
  let doc: OpenApi;

  beforeAll(async () => {
    env = await startTemporal();
    api = await startApi(async () => env.client);
    const res = await fetch(`${api.url}/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenApi;
  });

  afterAll(async () => {
    await api?.close();
    await env?.teardown();
  });

  it('is served without a token and is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes every route the app serves, and no route it does not serve', () => {
    const served = routesOf(api.app).map((route) => {
      const [method, path] = route.split(' ');
      return `${method} ${openApiPath(path)}`;
    });
    expect(served.length).toBeGreaterThanOrEqual(38);
    const described = new Set(operationsOf(doc));
    const undescribed = served.filter((route) => !described.has(route));
    expect(undescribed, 'routes of the app without an operation in /openapi.json (describe them in api/openapi/)').toEqual([]);
    const unserved = [...described].filter((operation) => !served.includes(operation));
    expect(unserved, 'operations in /openapi.json that no route of the app serves').toEqual([]);
  });

  describe('real answers match their described schemas', () => {
    let matches: (method: string, path: string, status: number, body: unknown) => void;

    beforeAll(async () => {
      // The description's own references (#/components/...) resolve against the whole document, registered as `api`.
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats.default(ajv);
      ajv.addSchema({ ...doc, $id: 'api' });
      matches = (method, path, status, body) => {
        const response = doc.paths[path]?.[method]?.responses[String(status)];
        expect(response, `${method.toUpperCase()} ${path} describes no ${status} answer`).toBeDefined();
        const schema = response!.content?.['application/json']?.schema;
        expect(schema, `${method.toUpperCase()} ${path} ${status} describes no JSON body`).toBeDefined();
        const validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"api#/components/')));
        const valid = validate(body);
        expect(validate.errors ?? [], `${method.toUpperCase()} ${path} ${status}: ${JSON.stringify(body).slice(0, 400)}`).toEqual([]);
        expect(valid).toBe(true);
      };
      expect((await adminCall(api.url, 'POST', '/deployments', { id: 'beige', modelName: 'distance', strategy: 'canary' })).status).toBe(
        201,
      );
      expect((await adminCall(api.url, 'POST', '/clients', { id: 'rover-1', deploymentId: 'beige' })).status).toBe(201);
      expect((await adminCall(api.url, 'PUT', '/models/distance/training-config', { deployments: ['beige'] })).status).toBe(200);
      await registerUntrainedVersion(api.stores, 'distance', 'openapi-run');
    });

    const cases: { name: string; method: string; route: string; path: string; status: number; body?: unknown; token?: boolean }[] = [
      { name: 'GET /models', method: 'get', route: '/models', path: '/models', status: 200 },
      { name: 'GET /deployments/:id', method: 'get', route: '/deployments/beige', path: '/deployments/{id}', status: 200 },
      { name: 'GET /models/:name/monitor', method: 'get', route: '/models/distance/monitor', path: '/models/{name}/monitor', status: 200 },
      {
        name: 'GET /models/:name/versions/:version',
        method: 'get',
        route: '/models/distance/versions/1',
        path: '/models/{name}/versions/{version}',
        status: 200,
      },
      { name: 'GET /clients', method: 'get', route: '/clients', path: '/clients', status: 200 },
      { name: 'POST /clients', method: 'post', route: '/clients', path: '/clients', status: 201, body: { id: 'rover-2' } },
      { name: 'GET /models/:name', method: 'get', route: '/models/distance', path: '/models/{name}', status: 200 },
      { name: 'GET /models/:name/trials', method: 'get', route: '/models/distance/trials', path: '/models/{name}/trials', status: 200 },
      {
        name: 'GET /deployments/:id/serving-history',
        method: 'get',
        route: '/deployments/beige/serving-history',
        path: '/deployments/{id}/serving-history',
        status: 200,
      },
      {
        name: 'GET /deployments/:id/stats',
        method: 'get',
        route: '/deployments/beige/stats',
        path: '/deployments/{id}/stats',
        status: 200,
      },
      {
        name: 'GET /deployments/:id/rollout',
        method: 'get',
        route: '/deployments/beige/rollout',
        path: '/deployments/{id}/rollout',
        status: 200,
      },
      {
        name: 'GET /deployments/:id/drift',
        method: 'get',
        route: '/deployments/beige/drift',
        path: '/deployments/{id}/drift',
        status: 200,
      },
      { name: 'GET /fleet', method: 'get', route: '/fleet', path: '/fleet', status: 200 },
      {
        name: 'GET /deployments/:id/frames',
        method: 'get',
        route: '/deployments/beige/frames',
        path: '/deployments/{id}/frames',
        status: 200,
      },
      {
        name: 'GET /deployments/:id/series',
        method: 'get',
        route: '/deployments/beige/series',
        path: '/deployments/{id}/series',
        status: 200,
      },
      { name: 'GET /rollouts', method: 'get', route: '/rollouts', path: '/rollouts', status: 200 },
      {
        name: 'a 409',
        method: 'post',
        route: '/deployments/beige/rollout/promote',
        path: '/deployments/{id}/rollout/{action}',
        status: 409,
        body: {},
      },
      { name: 'a 404', method: 'get', route: '/deployments/none', path: '/deployments/{id}', status: 404 },
      {
        name: 'a 400 (query)',
        method: 'get',
        route: '/deployments/beige/serving-history?limit=0',
        path: '/deployments/{id}/serving-history',
        status: 400,
      },
      { name: 'a 400 (body)', method: 'post', route: '/deployments', path: '/deployments', status: 400, body: { id: 'Not An Id' } },
      { name: 'GET /session', method: 'get', route: '/session', path: '/session', status: 200 },
      { name: 'POST /viewers', method: 'post', route: '/viewers', path: '/viewers', status: 201, body: { name: 'screen' } },
      { name: 'GET /viewers', method: 'get', route: '/viewers', path: '/viewers', status: 200 },
      {
        name: 'POST /annotations',
        method: 'post',
        route: '/annotations',
        path: '/annotations',
        status: 201,
        body: { text: 'phase 1', tags: ['demo'], deployment: 'beige' },
      },
      { name: 'GET /annotations', method: 'get', route: '/annotations?deployment=beige', path: '/annotations', status: 200 },
      { name: 'a 401', method: 'get', route: '/clients', path: '/clients', status: 401, token: false },
      { name: 'a 503 readiness (no workers)', method: 'get', route: '/readyz', path: '/readyz', status: 503 },
    ];
    it.each(cases)('$name', async ({ method, route, path, status, body, token }) => {
      const res = await fetch(api.url + route, {
        method: method.toUpperCase(),
        headers: {
          ...(token === false ? {} : { authorization: `Bearer ${ADMIN_TOKEN}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect(res.status).toBe(status);
      matches(method, path, status, await res.json());
    });

    it("a viewer token's read and its 403", async () => {
      const { body } = await adminCall(api.url, 'POST', '/viewers', { name: 'openapi viewer' });
      const asViewer = (method: string, route: string) =>
        fetch(api.url + route, {
          method,
          headers: { authorization: `Bearer ${body.token}`, 'content-type': 'application/json' },
          body: method === 'GET' ? undefined : '{}',
        });
      const read = await asViewer('GET', '/session');
      expect(read.status).toBe(200);
      matches('get', '/session', 200, await read.json());
      const refused = await asViewer('PATCH', '/deployments/beige');
      expect(refused.status).toBe(403);
      matches('patch', '/deployments/{id}', 403, await refused.json());
    });
  });
});
