import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseRetryAfter, RoverClient } from '../../edge/roverClient.js';

interface Recorded {
  method: string;
  url: string;
  authorization: string | undefined;
  clientIdHeader: string | undefined;
  fields: Record<string, string>;
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
    const { fields, image } = await parseMultipart(req, Buffer.concat(chunks));
    recorded.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      clientIdHeader: req.headers['x-client-id'] as string | undefined,
      fields,
      image,
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
