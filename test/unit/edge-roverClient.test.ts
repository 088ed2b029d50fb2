import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isRetryableFailure, parseRetryAfter, RoverClient } from '../../edge/roverClient.js';

interface Recorded {
  method: string;
  url: string;
  authorization: string | undefined;
  clientIdHeader: string | undefined;
  idempotencyKey: string | undefined;
  fields: Record<string, string>;
  json?: unknown;
  image?: { name: string; type: string; bytes: Buffer };
}

type Reply = { status: number; body: unknown; headers?: Record<string, string> } | 'hang' | 'reset';

let server: Server;
let apiUrl: string;
let recorded: Recorded[] = [];
let replies: Reply[] = [];

async function parseMultipart(req: IncomingMessage, body: Buffer) {
  const form = await new Request('http://local/', {
    method: 'POST',
    headers: { 'content-type': req.headers['content-type'] ?? '' },
    body: new Uint8Array(body),
  }).formData();
  const fields: Record<string, string> = {};
  let image: Recorded['image'];
  for (const [key, value] of form.entries()) {
    if (typeof value === 'string') fields[key] = value;
    else if (key === 'image') image = { name: value.name, type: value.type, bytes: Buffer.from(await value.arrayBuffer()) };
  }
  return { fields, image };
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const multipart = req.headers['content-type']?.startsWith('multipart/');
    const { fields, image } = multipart ? await parseMultipart(req, body) : { fields: {}, image: undefined };
    recorded.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      clientIdHeader: req.headers['x-client-id'] as string | undefined,
      idempotencyKey: req.headers['idempotency-key'] as string | undefined,
      fields,
      image,
      ...(body.length && !multipart ? { json: JSON.parse(body.toString()) } : {}),
    });
    const reply = replies.shift() ?? { status: 500, body: { error: { code: 'test_exhausted', message: 'no reply scripted' } } };
    if (reply === 'hang') return; // never answer: the client must time out
    if (reply === 'reset') return req.socket.destroy();
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  recorded = [];
  replies = [];
});

const ok = {
  status: 200,
  body: { prediction_mm: 123.4, deployment: 'dep-a', model: { name: 'distance', version: 3 }, request_id: 'req-1' },
};
const err = (status: number, code: string) => ({ status, body: { error: { code, message: `${code} happened` } } });
const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
const client = (extra: Partial<ConstructorParameters<typeof RoverClient>[0]> = {}) =>
  new RoverClient({ apiUrl, clientId: 'rover-7', token: 's3cret', timeoutMs: 2000, retries: 2, backoffMs: 5, ...extra });

describe('RoverClient', () => {
  it('posts a multipart frame with client id, sensor value and bearer token', async () => {
    replies = [ok];
    const result = await client().predict({ jpeg, sensorMm: 187 });
    expect(result).toEqual({
      ok: true,
      status: 200,
      predictionMm: 123.4,
      deployment: 'dep-a',
      model: { name: 'distance', version: 3 },
      requestId: 'req-1',
      attempts: 1,
    });
    expect(recorded).toHaveLength(1);
    const [req] = recorded;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/predict');
    expect(req.authorization).toBe('Bearer s3cret');
    expect(req.clientIdHeader).toBe('rover-7');
    expect(req.fields).toEqual({ client_id: 'rover-7', sensor_value: '187' });
    expect(req.image?.name).toBe('frame.jpg');
    expect(req.image?.type).toBe('image/jpeg');
    expect(req.image?.bytes.equals(jpeg)).toBe(true);
  });

  it('omits sensor_value when the laser dropped out', async () => {
    replies = [ok];
    await client().predict({ jpeg, sensorMm: null });
    expect(recorded[0].fields).toEqual({ client_id: 'rover-7' });
  });

  it('retries a 500 with backoff and succeeds', async () => {
    replies = [err(500, 'internal'), ok];
    const result = await client().predict({ jpeg, sensorMm: 10 });
    expect(result.ok).toBe(true);
    expect(result.attempts).toBe(2);
    expect(recorded).toHaveLength(2);
  });

  it('gives up after the retry budget and reports the last error', async () => {
    replies = [err(500, 'internal'), err(502, 'bad_gateway'), { status: 503, body: 'upstream down' }];
    const result = await client().predict({ jpeg, sensorMm: 10 });
    expect(result).toMatchObject({ ok: false, status: 503, code: 'http_503', attempts: 3 });
    expect(recorded).toHaveLength(3);
  });

  it('does not retry 503 no_model: the frame was recorded', async () => {
    replies = [err(503, 'no_model'), ok];
    const result = await client().predict({ jpeg, sensorMm: 10 });
    expect(result).toEqual({ ok: false, status: 503, code: 'no_model', message: 'no_model happened', attempts: 1 });
    expect(recorded).toHaveLength(1);
  });

  it.each([
    [401, 'unauthorized'],
    [400, 'bad_request'],
    [404, 'unknown_client'],
    [413, 'too_large'],
    [415, 'unsupported_media_type'],
  ])('does not retry %i %s', async (status, code) => {
    replies = [err(status, code), ok];
    const result = await client().predict({ jpeg, sensorMm: 10 });
    expect(result).toMatchObject({ ok: false, status, code, attempts: 1 });
    expect(recorded).toHaveLength(1);
  });

  it('retries a timeout and a dropped connection', async () => {
    replies = ['hang', 'reset', ok];
    const result = await client({ timeoutMs: 200 }).predict({ jpeg, sensorMm: 10 });
    expect(result).toMatchObject({ ok: true, attempts: 3 });
    expect(recorded).toHaveLength(3);
  });

  it('reports network errors without throwing', async () => {
    const result = await new RoverClient({ apiUrl: 'http://127.0.0.1:9', clientId: 'c', token: 't', retries: 1, backoffMs: 1 }).predict({
      jpeg,
    });
    expect(result).toMatchObject({ ok: false, status: null, code: 'network_error', attempts: 2 });
  });

  it('waits as long as Retry-After says on 503 overloaded, without using up its retries', async () => {
    const busy = (code: string) => ({ ...err(503, code), headers: { 'retry-after': '1' } });
    replies = [busy('overloaded'), busy('spool_full'), busy('overloaded'), ok];
    const started = Date.now();
    const result = await client({ retries: 0, backoffMs: 1 }).predict({ jpeg, sensorMm: 10 });
    expect(result).toMatchObject({ ok: true, attempts: 4 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
  });

  it('reports the failure at once when Retry-After is beyond its wait budget', async () => {
    replies = [{ ...err(503, 'overloaded'), headers: { 'retry-after': '30' } }, ok];
    const started = Date.now();
    const result = await client({ retryAfterBudgetMs: 5000 }).predict({ jpeg, sensorMm: 10 });
    expect(result).toMatchObject({ ok: false, status: 503, code: 'overloaded', attempts: 1, retryAfterMs: 30_000 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(recorded).toHaveLength(1);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('5')).toBe(5000);
    expect(parseRetryAfter(new Date(1_000_000 + 2000).toUTCString(), 1_000_000)).toBe(2000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('rejects a malformed success body as bad_response', async () => {
    replies = [{ status: 200, body: { prediction: null } }];
    const result = await client().predict({ jpeg, sensorMm: 10 });
    expect(result).toMatchObject({ ok: false, status: 200, code: 'bad_response' });
  });
});

describe('RoverClient for the agent', () => {
  const report = {
    runId: 'run-0001-abcd',
    mode: 'model' as const,
    startedAt: '2026-12-06T08:00:00.000Z',
    endedAt: '2026-12-06T08:00:10.000Z',
    frames: 30,
    steered: { model: 20, laser: 10, stopped: 0 },
    outcome: 'parked' as const,
    finalLaserMm: 14,
    modelVersion: 3,
    stopReason: 'laser' as const,
  };
  const storedRun = { ...report, client: 'rover-7', deployment: 'dep-a', receivedAt: '2026-12-06T08:00:11.000Z' };

  it('sends the idempotency key as a header and the frame age as a form field, and reads a replayed answer', async () => {
    replies = [{ ...ok, headers: { 'idempotent-replayed': 'true' } }];
    const result = await client().predict({ jpeg, sensorMm: 50, idempotencyKey: 'run-1:7', frameAgeMs: 61_234 });
    expect(result).toMatchObject({ ok: true, requestId: 'req-1', replayed: true });
    expect(recorded[0].idempotencyKey).toBe('run-1:7');
    expect(Number(recorded[0].fields.frame_age_ms)).toBeGreaterThanOrEqual(61_234);
  });

  it('counts the wait of a retry into the frame age', async () => {
    replies = [err(500, 'internal'), ok];
    await client({ backoffMs: 300 }).predict({ jpeg, sensorMm: 50, idempotencyKey: 'k', frameAgeMs: 1000 });
    expect(recorded.map((r) => r.idempotencyKey)).toEqual(['k', 'k']);
    expect(Number(recorded[1].fields.frame_age_ms)).toBeGreaterThanOrEqual(1300);
  });

  it('waits out a repeat of a key still in progress (409 with Retry-After)', async () => {
    replies = [{ ...err(409, 'idempotency_in_progress'), headers: { 'retry-after': '1' } }, ok];
    const result = await client().predict({ jpeg, sensorMm: 50, idempotencyKey: 'k' });
    expect(result).toMatchObject({ ok: true, attempts: 2 });
  });

  it('asks the API who it is', async () => {
    const answer = { client: { id: 'rover-7', name: 'Rover 7' }, deployment: { id: 'dep-a', modelName: 'distance', currentVersion: 3 } };
    replies = [{ status: 200, body: answer }, err(401, 'unauthorized')];
    expect(await client().whoAmI()).toEqual({ ok: true, answer });
    expect(recorded[0]).toMatchObject({ method: 'GET', url: '/clients/me', authorization: 'Bearer s3cret', clientIdHeader: 'rover-7' });
    expect(await client().whoAmI()).toMatchObject({ ok: false, status: 401, code: 'unauthorized' });
  });

  it('reports a parking run, and says when it was already stored', async () => {
    replies = [
      { status: 201, body: { run: storedRun, replayed: false } },
      { status: 200, body: { run: storedRun, replayed: true } },
    ];
    expect(await client().reportParkingRun(report)).toEqual({ ok: true, status: 201, replayed: false });
    expect(await client().reportParkingRun(report)).toEqual({ ok: true, status: 200, replayed: true });
    expect(recorded[0]).toMatchObject({ method: 'POST', url: '/parking-runs', json: report });
  });

  it('never throws: a refused report, a malformed answer and an unreachable API are results', async () => {
    replies = [err(422, 'invalid_body'), { status: 201, body: { nothing: true } }];
    expect(await client().reportParkingRun(report)).toMatchObject({ ok: false, status: 422, code: 'invalid_body' });
    expect(await client().reportParkingRun(report)).toMatchObject({ ok: false, code: 'bad_response' });
    const away = new RoverClient({ apiUrl: 'http://127.0.0.1:9', clientId: 'c', token: 't' });
    expect(await away.reportParkingRun(report)).toMatchObject({ ok: false, status: null, code: 'network_error' });
    expect(await away.whoAmI()).toMatchObject({ ok: false, status: null, code: 'network_error' });
  });

  it.each([
    [{ status: null, code: 'network_error' }, true],
    [{ status: 503, code: 'spool_full' }, true],
    [{ status: 429, code: 'rate_limited' }, true],
    [{ status: 409, code: 'idempotency_in_progress' }, true],
    [{ status: 503, code: 'no_model' }, false],
    [{ status: 422, code: 'idempotency_key_reused' }, false],
    [{ status: 400, code: 'frame_too_old' }, false],
  ])('a failure %o is worth keeping for later: %s', (failure, keep) => {
    expect(isRetryableFailure(failure)).toBe(keep);
  });
});
