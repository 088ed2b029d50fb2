import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../../core/random.js';
import { ADMIN_TOKEN, startApi, WEBHOOK_TOKEN, type ApiHarness } from '../support/apiHarness.js';
import { startTemporal } from '../support/temporalEnv.js';

/**
 * A bounded, seeded fuzz of the JSON routes: random shapes, deep nesting, huge numbers, wrong
 * types, odd unicode and wrong content types. No answer may be a 5xx, every error is JSON with a
 * code, and the API still serves afterwards. The same seed sends the same requests.
 */
const SEED = 12;
const REQUESTS_PER_ROUTE = 60;

const grafanaFiring = JSON.parse(
  fs.readFileSync(path.join(import.meta.dirname, '../fixtures/grafana-webhook/firing.json'), 'utf8'),
) as Record<string, unknown>;

interface Route {
  method: string;
  path: string;
  token: string;
  /** A valid body, mutated field by field. */
  template: Record<string, unknown>;
}

const routes: Route[] = [
  { method: 'POST', path: '/clients', token: ADMIN_TOKEN, template: { id: 'rover-f', name: 'fuzz', deploymentId: 'beige' } },
  { method: 'PUT', path: '/clients/rover-1/deployment', token: ADMIN_TOKEN, template: { deploymentId: 'beige' } },
  { method: 'POST', path: '/deployments', token: ADMIN_TOKEN, template: { id: 'fuzz', modelName: 'distance', modelVersion: 'latest' } },
  { method: 'PATCH', path: '/deployments/beige', token: ADMIN_TOKEN, template: { modelVersion: 'latest', strategy: 'static' } },
  {
    method: 'PUT',
    path: '/models/distance/training-config',
    token: ADMIN_TOKEN,
    template: { deployments: ['beige'], width: 20, height: 15, sweep: { epochs: [1], batchSizes: [8], dropouts: [0.1] } },
  },
  { method: 'POST', path: '/models/distance/retrain', token: ADMIN_TOKEN, template: { overrides: { sweep: { epochs: [1] } } } },
  { method: 'POST', path: '/webhooks/grafana', token: WEBHOOK_TOKEN, template: grafanaFiring },
];

const STRINGS = [
  '',
  ' ',
  'a'.repeat(5000),
  '\u0000',
  '\ud800',
  '🚀📷',
  'مرحبا',
  '../../etc/passwd',
  "'; DROP TABLE clients; --",
  '__proto__',
  'latest',
  '-1',
];
const NUMBERS_TEXT = [
  '0',
  '-0',
  '1e308',
  '1e400',
  '-1e400',
  '1' + '0'.repeat(400),
  '0.' + '0'.repeat(300) + '1',
  '9007199254740993',
  '3.14',
  '-7',
];
const pick = <T>(rng: Rng, items: readonly T[]): T => items[rng.int(items.length)];

/** Random JSON text up to `depth` levels, with number literals JavaScript cannot hold. */
function randomJson(rng: Rng, depth: number): string {
  const kind = depth <= 0 ? rng.int(4) : rng.int(6);
  switch (kind) {
    case 0:
      return pick(rng, ['null', 'true', 'false']);
    case 1:
      return pick(rng, NUMBERS_TEXT);
    case 2:
    case 3:
      return JSON.stringify(pick(rng, STRINGS));
    case 4:
      return `[${Array.from({ length: rng.int(5) }, () => randomJson(rng, depth - 1)).join(',')}]`;
    default: {
      const keys = [
        'id',
        'name',
        'deploymentId',
        'modelName',
        'alerts',
        'labels',
        'status',
        '__proto__',
        'constructor',
        pick(rng, STRINGS),
      ];
      return `{${Array.from({ length: rng.int(6) }, () => `${JSON.stringify(pick(rng, keys))}:${randomJson(rng, depth - 1)}`).join(',')}}`;
    }
  }
}

/** The template with one field, at any depth, replaced by `value` (JSON text; default a random value). */
function mutated(rng: Rng, template: unknown, value = randomJson(rng, 3)): string {
  const copy = JSON.parse(JSON.stringify(template));
  let node = copy;
  for (let hops = rng.int(4); hops > 0 && node && typeof node === 'object'; hops--) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = pick(rng, keys);
    if (!node[key] || typeof node[key] !== 'object') break;
    node = node[key];
  }
  if (!node || typeof node !== 'object') return value;
  const keys = Object.keys(node);
  const key = keys.length && rng.next() < 0.8 ? pick(rng, keys) : pick(rng, STRINGS);
  const marker = `"__FUZZ_${rng.int(1e9)}__"`;
  node[key] = JSON.parse(marker);
  return JSON.stringify(copy).replace(marker, () => value);
}

const nested = (depth: number, open: string, close: string, inner = '1') => open.repeat(depth) + inner + close.repeat(depth);

/** The template with a field nested `depth` deep added to each of its objects in turn (an alert's extra fields, say). */
function deepFieldEverywhere(template: unknown, depth: number): string[] {
  const bodies: string[] = [];
  const visit = (node: unknown, pathTo: (string | number)[]) => {
    if (!node || typeof node !== 'object') return;
    if (!Array.isArray(node)) {
      const copy = JSON.parse(JSON.stringify(template));
      const target = pathTo.reduce((n, key) => n[key], copy);
      target.extra = '__DEEP__';
      bodies.push(JSON.stringify(copy).replace('"__DEEP__"', () => nested(depth, '{"x":', '}')));
    }
    for (const [key, value] of Object.entries(node)) visit(value, [...pathTo, Array.isArray(node) ? Number(key) : key]);
  };
  visit(template, []);
  return bodies;
}

function randomRequest(rng: Rng, route: Route): { body: string; contentType?: string; what: string } {
  switch (rng.int(8)) {
    case 0:
      return { body: randomJson(rng, 4), contentType: 'application/json', what: 'random shape' };
    case 1: {
      const depth = pick(rng, [40, 100, 1000, 10_000, 50_000]);
      return rng.next() < 0.5
        ? { body: nested(depth, '[', ']'), contentType: 'application/json', what: `array nested ${depth} deep` }
        : { body: nested(depth, '{"a":', '}'), contentType: 'application/json', what: `object nested ${depth} deep` };
    }
    case 2: {
      // Deep nesting anywhere in an otherwise valid body (an alert's extra fields, say).
      const depth = pick(rng, [40, 500, 5000, 50_000]);
      return {
        body: mutated(rng, route.template, nested(depth, '{"x":', '}')),
        contentType: 'application/json',
        what: `a field nested ${depth} deep`,
      };
    }
    case 3:
      return {
        body: mutated(rng, route.template),
        contentType: pick(rng, ['application/json', 'application/json; charset=utf-8']),
        what: 'one field of a valid body replaced',
      };
    case 4:
      return {
        body: JSON.stringify(route.template),
        contentType: pick(rng, [
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=B',
          'application/json; charset=utf-16',
          'application/json; charset=bogus',
          'application/xml',
        ]),
        what: 'wrong content type',
      };
    case 5: {
      const valid = JSON.stringify(route.template);
      return {
        body: pick(rng, [valid.slice(0, rng.int(valid.length)), `${valid}garbage`, `\ufeff${valid}`, '', 'null', '"just a string"', '[]']),
        contentType: 'application/json',
        what: 'malformed or bare JSON',
      };
    }
    case 6: {
      const keys = pick(rng, [1000, 20_000]);
      const wide = `{${Array.from({ length: keys }, (_, i) => `"k${i}":${i}`).join(',')}}`;
      return { body: wide, contentType: 'application/json', what: `${keys} keys` };
    }
    default:
      return { body: randomJson(rng, 2), what: 'no content type' };
  }
}

describe('JSON routes under fuzzing', () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;

  const send = async (method: string, route: string, token: string, body?: string, contentType?: string) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (contentType) headers['content-type'] = contentType;
    const res = await fetch(api.url + route, { method, headers, body, signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    return { status: res.status, text };
  };

  beforeAll(async () => {
    env = await startTemporal();
    api = await startApi(async () => env.client);
    const admin = (method: string, route: string, body: unknown) =>
      send(method, route, ADMIN_TOKEN, JSON.stringify(body), 'application/json');
    for (const id of ['beige', 'green']) expect((await admin('POST', '/deployments', { id, modelName: 'distance' })).status).toBe(201);
    expect((await admin('POST', '/clients', { id: 'rover-1', deploymentId: 'beige' })).status).toBe(201);
    // A model that can train, so retrain and webhook requests get as far as starting a run.
    expect((await admin('PUT', '/models/distance/training-config', routes[4].template)).status).toBe(200);
  });

  afterAll(async () => {
    await api?.close();
    await env?.teardown();
  });

  it('refuses bodies nested deeper than JSON_MAX_DEPTH or wider than JSON_MAX_KEYS before any route', async () => {
    const post = (body: string) => send('POST', '/deployments', ADMIN_TOKEN, body, 'application/json');
    const codeOf = async (body: string) => {
      const answer = await post(body);
      return `${answer.status} ${JSON.parse(answer.text).error?.code}`;
    };
    expect(await codeOf(`{"id":"deep","modelName":"m","x":${nested(31, '[', ']')}}`)).toBe('400 invalid_request');
    expect(await codeOf(`{"id":"deep","modelName":"m","x":${nested(32, '[', ']')}}`)).toBe('400 json_too_deep');
    expect(await codeOf(`[${Array(50_001).fill(0).join(',')}]`)).toBe('413 json_too_many_keys');
  });

  it(`answers ${REQUESTS_PER_ROUTE * routes.length} fuzzed requests and hostile nesting without a 5xx and stays healthy`, async () => {
    const rng = createRng(SEED);
    const serverErrors: string[] = [];
    for (const route of routes) {
      const hostile = deepFieldEverywhere(route.template, 5000).map((body) => ({
        body,
        contentType: 'application/json',
        what: 'a field nested 5000 deep',
      }));
      for (let i = 0; i < hostile.length + REQUESTS_PER_ROUTE; i++) {
        const request = hostile[i] ?? randomRequest(rng, route);
        const answer = await send(route.method, route.path, route.token, request.body, request.contentType);
        if (answer.status >= 500)
          serverErrors.push(`${route.method} ${route.path} (${request.what}) -> ${answer.status} ${answer.text.slice(0, 160)}`);
        else if (answer.status >= 400)
          expect(JSON.parse(answer.text)).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
      }
    }
    expect(serverErrors).toEqual([]);

    expect((await send('GET', '/healthz', ADMIN_TOKEN)).status).toBe(200);
    const ready = JSON.parse((await send('GET', '/readyz', ADMIN_TOKEN)).text);
    expect(ready.checks).toMatchObject({ registry: 'ok', objects: 'ok', measurements: 'ok', temporal: 'ok' });
    expect((await send('GET', '/deployments/beige', ADMIN_TOKEN)).status).toBe(200);
  });
});
