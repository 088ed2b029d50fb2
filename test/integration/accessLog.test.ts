import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApiOn, type ApiHarness } from '../support/apiHarness.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  code?: string;
  req?: { method: string; url: string };
  res?: { statusCode: number };
  responseTime?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The API's access log: one JSON line per request with its request id, the caller's X-Request-Id when usable. */
describe('the API access log', () => {
  let temp: TempStores;
  let api: ApiHarness;
  let lines: LogLine[] = [];

  beforeAll(async () => {
    temp = await openTempStores();
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) });
    api = await startApiOn(temp.stores, temp.dir, () => Promise.reject(new Error('no Temporal in this test')), { log });
  });

  afterAll(async () => {
    await api?.close();
    await temp?.cleanup();
  });

  beforeEach(() => {
    lines = [];
  });

  const get = (route: string, headers: Record<string, string> = {}) =>
    fetch(`${api.url}${route}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers } });

  it('carries the X-Request-Id a caller sends, echoes it, and ties the error line to it', async () => {
    const res = await get('/deployments/nope', { 'x-request-id': 'rover-7/frame-42' });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('rover-7/frame-42');
    const mine = lines.filter((l) => l.reqId === 'rover-7/frame-42');
    expect(mine.map((l) => l.msg).sort()).toEqual(['GET /deployments/nope 404', 'request refused']);
    expect(mine.find((l) => l.msg === 'request refused')).toMatchObject({ level: 30, code: 'not_found' });
    expect(mine.find((l) => l.res)).toMatchObject({
      level: 30,
      req: { method: 'GET', url: '/deployments/nope' },
      res: { statusCode: 404 },
    });
    expect(typeof mine.find((l) => l.res)?.responseTime).toBe('number');
    // Headers carry tokens: none is logged.
    expect(JSON.stringify(lines)).not.toContain(ADMIN_TOKEN);
  });

  it('never holds a viewer token: not when it is created, used, refused or deleted', async () => {
    const admin = (method: string, route: string, body?: unknown) =>
      fetch(`${api.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const created = (await (await admin('POST', '/viewers', { name: 'log reader' })).json()) as { viewer: { id: number }; token: string };
    const asViewer = (method: string, route: string) =>
      fetch(`${api.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${created.token}`, 'content-type': 'application/json' },
        body: method === 'GET' ? undefined : '{}',
      });
    expect((await asViewer('GET', '/deployments')).status).toBe(200);
    expect((await asViewer('POST', '/deployments')).status).toBe(403);
    expect((await admin('DELETE', `/viewers/${created.viewer.id}`)).status).toBe(204);
    expect((await asViewer('GET', '/session')).status).toBe(401);
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['POST /viewers 201', 'GET /deployments 200', 'POST /deployments 403', 'GET /session 401']),
    );
    expect(lines.find((l) => l.msg === 'request refused' && l.code === 'forbidden')).toBeDefined();
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain(created.token);
    expect(logged).not.toContain(ADMIN_TOKEN);
  });

  it('gives a request without a usable X-Request-Id a new one', async () => {
    const none = await get('/deployments');
    const bad = await get('/deployments', { 'x-request-id': `${'x'.repeat(200)}` });
    const spaced = await get('/deployments', { 'x-request-id': 'two words' });
    for (const res of [none, bad, spaced]) {
      expect(res.status).toBe(200);
      const id = res.headers.get('x-request-id')!;
      expect(id).toMatch(UUID);
      expect(lines.filter((l) => l.reqId === id).map((l) => l.msg)).toEqual(['GET /deployments 200']);
    }
  });

  it('logs probes and scrapes at debug only', async () => {
    for (const route of ['/healthz', '/readyz', '/metrics']) await (await fetch(`${api.url}${route}`)).text();
    expect(lines).toEqual([]);
  });
});
