import type { FrameImage } from '../../serving/modelServer.js';
import http from 'node:http';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, registerUntrainedVersion, startApiOn, type ApiHarness } from '../support/apiHarness.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';
import { eventually } from '../support/eventually.js';
import { switchableRegistry } from '../support/switchableRegistry.js';
import { syntheticFrame } from '../support/syntheticFrames.js';

interface LogLine {
  level: number;
  msg: string;
  code?: string;
  err?: unknown;
  stack?: string;
}

/** Frames the API handles at once in this suite: more than the bombs test sends together. */
const INFLIGHT_FRAMES = 12;
const noTemporal = () => Promise.reject(new Error('Temporal is not part of this test'));
const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

/** A JPEG whose header claims `width` x `height`: a small real JPEG with its SOF marker rewritten. */
async function jpegClaiming(width: number, height: number, real?: Buffer): Promise<Buffer> {
  const small = Buffer.from(
    real ??
      (await sharp({ create: { width: 8, height: 8, channels: 3, background: '#777' } })
        .jpeg()
        .toBuffer()),
  );
  for (let i = 2; i < small.length - 9; i++) {
    if (small[i] === 0xff && small[i + 1] >= 0xc0 && small[i + 1] <= 0xc2) {
      small.writeUInt16BE(height, i + 5);
      small.writeUInt16BE(width, i + 7);
      return small;
    }
  }
  throw new Error('no SOF marker');
}

describe('/predict under hostile input, outages and load', () => {
  let temp: TempStores;
  let api: ApiHarness;
  let registry: ReturnType<typeof switchableRegistry>;
  let logs: LogLine[] = [];
  let token: string;
  let jpeg: Buffer;

  const createClient = async (id: string, deploymentId: string) => {
    const res = await fetch(`${api.url}/clients`, { method: 'POST', headers: admin, body: JSON.stringify({ id, deploymentId }) });
    expect(res.status).toBe(201);
    return ((await res.json()) as { token: string }).token;
  };

  /** Sends the client id as old rovers do (form field `client_id`, default rover-1) unless `clientField` is null. */
  const predict = async (opts: { image?: Buffer; token?: string; clientHeader?: string; clientField?: string | null } = {}) => {
    const form = new FormData();
    if (opts.clientField !== null) form.set('client_id', opts.clientField ?? 'rover-1');
    form.set('sensor_value', '100');
    form.set('image', new Blob([new Uint8Array(opts.image ?? jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
    const headers: Record<string, string> = { authorization: `Bearer ${opts.token ?? token}` };
    if (opts.clientHeader) headers['x-client-id'] = opts.clientHeader;
    const started = performance.now();
    const res = await fetch(`${api.url}/predict`, { method: 'POST', body: form, headers });
    const text = await res.text();
    return {
      status: res.status,
      body: JSON.parse(text),
      retryAfter: res.headers.get('retry-after'),
      text,
      ms: performance.now() - started,
    };
  };

  /** Sends a raw body to /predict. */
  const raw = async (headers: Record<string, string>, body: string | Buffer) => {
    const res = await fetch(`${api.url}/predict`, {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });
    return { status: res.status, body: JSON.parse(await res.text()) as { error: { code: string; message: string } } };
  };

  beforeAll(async () => {
    temp = await openTempStores();
    registry = switchableRegistry(temp.stores.registry);
    const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as LogLine) });
    api = await startApiOn({ ...temp.stores, registry: registry.registry }, temp.dir, noTemporal, {
      log,
      api: {
        registryCacheTtlMs: 200,
        spoolMaxBytes: 400_000,
        inflightMaxBytes: 400_000,
        inflightMaxFrames: INFLIGHT_FRAMES,
        // One rover fills the whole budget here (and more): a client's share is tested in predictSlowClients.test.ts.
        inflightClientMaxFrames: 4 * INFLIGHT_FRAMES,
        overloadDelayMs: 100,
      },
    });
    jpeg = await syntheticFrame(120, 160, 120);
    await fetch(`${api.url}/deployments`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'beige', modelName: 'distance' }) });
    token = await createClient('rover-1', 'beige');
    await registerUntrainedVersion(api.stores, 'distance', 'run-hardening');
  });

  afterAll(async () => {
    registry?.setDown(false);
    await api?.close();
    await temp?.cleanup();
  });

  beforeEach(() => {
    logs = [];
  });

  describe('registry down', () => {
    it('keeps serving known rovers from cached lookups, and logs the outage once at warn', async () => {
      expect((await predict()).status).toBe(200);
      const fresh = await createClient('rover-new', 'beige');
      logs = [];
      registry.setDown(true);
      try {
        // Past the TTL: the cache must ask the registry again, which refuses.
        await new Promise((r) => setTimeout(r, 300));
        const answers = await Promise.all(Array.from({ length: 10 }, () => predict()));
        expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
        expect(answers.every((a) => a.body.model.version === 1)).toBe(true);

        const unknown = await predict({ token: fresh, clientField: 'rover-new' });
        expect(unknown).toMatchObject({ status: 503, body: { error: { code: 'registry_unavailable' } }, retryAfter: '5' });
        const byHeader = await predict({ token: fresh, clientHeader: 'rover-new', clientField: null });
        expect(byHeader).toMatchObject({ status: 503, body: { error: { code: 'registry_unavailable' } } });
        for (const text of [unknown.text, byHeader.text]) expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|13306|at /);

        const warnings = logs.filter((l) => l.level === 40);
        expect(warnings.map((l) => l.msg)).toEqual(['registry unreachable: /predict serves cached clients and deployments']);
        expect(logs.filter((l) => l.level >= 50)).toEqual([]);
        expect(JSON.stringify(logs)).not.toContain('"stack"');
      } finally {
        registry.setDown(false);
      }
      expect((await predict({ token: fresh, clientField: 'rover-new' })).status).toBe(200);
    });

    it('answers 503 model_unavailable without detail when the model was never looked up, warning once', async () => {
      await fetch(`${api.url}/deployments`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'other', modelName: 'other' }) });
      const otherToken = await createClient('rover-other', 'other');
      expect(await predict({ token: otherToken, clientField: 'rover-other' })).toMatchObject({
        status: 503,
        body: { error: { code: 'no_model' } },
      });
      logs = [];
      registry.setDown(true);
      try {
        const answers = await Promise.all(Array.from({ length: 5 }, () => predict({ token: otherToken, clientField: 'rover-other' })));
        for (const answer of answers) {
          expect(answer).toMatchObject({ status: 503, body: { error: { code: 'model_unavailable' } }, retryAfter: '5' });
          expect(answer.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|13306/);
        }
        expect(logs.filter((l) => l.level === 40 && l.msg === 'model lookup failed')).toHaveLength(1);
        expect(logs.filter((l) => l.level >= 50)).toEqual([]);
      } finally {
        registry.setDown(false);
      }
    });

    it('sees a change made through the admin routes at once, whatever the TTL', async () => {
      expect((await predict()).body.deployment).toBe('beige');
      await fetch(`${api.url}/deployments`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ id: 'green', modelName: 'untrained' }),
      });
      await fetch(`${api.url}/clients/rover-1/deployment`, {
        method: 'PUT',
        headers: admin,
        body: JSON.stringify({ deploymentId: 'green' }),
      });
      expect(await predict()).toMatchObject({ status: 503, body: { error: { code: 'no_model' } } });
      await fetch(`${api.url}/clients/rover-1/deployment`, {
        method: 'PUT',
        headers: admin,
        body: JSON.stringify({ deploymentId: 'beige' }),
      });
      expect((await predict()).status).toBe(200);
      expect(logs.filter((l) => l.code === 'no_model').map((l) => [l.level, l.stack, l.err])).toEqual([[30, undefined, undefined]]);
    });
  });

  describe('image bombs', () => {
    it('refuses a narrow strip, a huge declared size and a large progressive JPEG from the header alone', async () => {
      const strip = await sharp({ create: { width: 1, height: 1000, channels: 3, background: '#a98' } })
        .jpeg()
        .toBuffer();
      const claimed = await jpegClaiming(16000, 16000);
      expect(claimed.length).toBeLessThan(1000);
      const progressive = await sharp({ create: { width: 6000, height: 2400, channels: 3, background: '#6a6' } })
        .jpeg({ progressive: true, quality: 40 })
        .toBuffer();
      expect(progressive.length).toBeLessThan(200_000);

      expect(await predict({ image: strip })).toMatchObject({ status: 422, body: { error: { code: 'image_aspect_ratio' } } });
      expect(await predict({ image: claimed })).toMatchObject({ status: 413, body: { error: { code: 'image_too_large' } } });
      expect(await predict({ image: progressive })).toMatchObject({ status: 413, body: { error: { code: 'image_too_large' } } });
      await api.analysis.idle();
      expect(api.analysis.status().rejected).toBe(0);
    });

    it('does not delay a normal frame sent while bombs arrive', async () => {
      const claimed = await jpegClaiming(16000, 16000);
      const strip = await sharp({ create: { width: 2, height: 1000, channels: 3, background: '#a98' } })
        .jpeg()
        .toBuffer();
      const bombs = Array.from({ length: 8 }, (_, i) => predict({ image: i % 2 ? claimed : strip }));
      const normal = await predict();
      expect(normal.status).toBe(200);
      expect(normal.ms).toBeLessThan(2000);
      expect((await Promise.all(bombs)).map((b) => b.status).sort()).toEqual([413, 413, 413, 413, 422, 422, 422, 422]);
    });
  });

  describe('one decode policy from /predict to the analysis', () => {
    const EOI = Buffer.from([0xff, 0xd9]);
    /** What a camera that lost the end of a frame sends: the start of a JPEG, closed (or not) with its end marker. */
    const truncations = (full: Buffer) =>
      [0.3, 0.6, 0.9, 0.99].flatMap((share) => {
        const cut = full.subarray(0, Math.floor(full.length * share));
        return [cut, Buffer.concat([cut, EOI])];
      });

    /** The request ids of the frames stored with their object, once the analysis is idle. */
    const storedRequestIds = async () => {
      await api.analysis.idle();
      const rows = await api.stores.measurements.datasetRows(['beige']);
      return new Set(rows.map((r) => /features\/beige\/(.+)\.jpg$/.exec(r.imageKey)![1]));
    };

    it('stores every truncated or header-lying frame it answers, and refuses the others with a 4xx', async () => {
      const wide = await syntheticFrame(140, 640, 480);
      const narrow = await syntheticFrame(140, 160, 120);
      // 286 bytes whose header claims 4096x4096 (beyond the limits) or 1280x960 (within): a small real JPEG with its
      // SOF rewritten, cut, and closed or not.
      const lying = await Promise.all([jpegClaiming(4096, 4096, narrow), jpegClaiming(1280, 960, narrow)]);
      const frames = [
        ...truncations(wide),
        ...truncations(narrow),
        ...lying.flatMap((claim) => [claim.subarray(0, 286), Buffer.concat([claim.subarray(0, 286), EOI])]),
      ];
      const answered: string[] = [];
      const refused: string[] = [];
      for (const image of frames) {
        const answer = await predict({ image });
        if (answer.status === 200) answered.push(answer.body.request_id as string);
        else refused.push(`${answer.status} ${answer.body.error.code}`);
      }
      const stored = await storedRequestIds();
      expect(
        answered.filter((id) => !stored.has(id)),
        `of ${answered.length} answered`,
      ).toEqual([]);
      expect(refused.filter((r) => r !== '400 invalid_image' && r !== '413 image_too_large')).toEqual([]);
      expect(api.analysis.status().rejected).toBe(0);
    });

    it('stores a spooled frame it cannot decode with its object and without characteristics, rather than drop it', async () => {
      const broken = Buffer.concat([(await syntheticFrame(140, 640, 480)).subarray(0, 1500), EOI]);
      const requestId = `undecodable-${Date.now()}`;
      await api.analysis.enqueue({
        requestId,
        time: Date.now(),
        deployment: 'beige',
        client: 'rover-1',
        sensorValue: 140,
        modelName: 'distance',
        modelVersion: 1,
        prediction: 120,
        latencyMs: 5,
        image: broken,
      });
      expect(await storedRequestIds()).toContain(requestId);
      const row = (await api.stores.measurements.datasetRows(['beige'])).find((r) => r.imageKey.includes(requestId))!;
      expect(row.characteristics).toEqual({});
      expect(await api.stores.objects.exists(row.imageKey)).toBe(true);
    });
  });

  describe('multipart', () => {
    const auth = () => ({ authorization: `Bearer ${token}` });
    const part = (headers: string) =>
      `--B\r\n${headers}\r\n\r\n120\r\n--B\r\nContent-Disposition: form-data; name="image"; filename="f.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;

    it('authenticates before it parses: a malformed body without a token is 401', async () => {
      expect(await raw({ 'content-type': 'multipart/mixed; boundary=B' }, '--B\r\nbroken')).toMatchObject({
        status: 401,
        body: { error: { code: 'missing_token' } },
      });
      expect(
        await raw({ authorization: 'Bearer wrong', 'content-type': 'multipart/form-data; boundary=B' }, '--B\r\nno colon\r\n\r\n'),
      ).toMatchObject({ status: 401, body: { error: { code: 'invalid_token' } } });
    });

    it('answers every parser error with 400 invalid_multipart, logged at info without a stack', async () => {
      const cases: [string, Record<string, string>, string | Buffer][] = [
        [
          'multipart/mixed',
          { 'content-type': 'multipart/mixed; boundary=B' },
          `${part('Content-Disposition: form-data; name="sensor_value"')}x\r\n--B--\r\n`,
        ],
        [
          'part header without a colon',
          { 'content-type': 'multipart/form-data; boundary=B' },
          `${part('Content-Disposition form-data')}x\r\n--B--\r\n`,
        ],
        [
          'part header too long',
          { 'content-type': 'multipart/form-data; boundary=B' },
          `${part(`Content-Disposition: form-data; name="sensor_value"; x="${'a'.repeat(90_000)}"`)}x\r\n--B--\r\n`,
        ],
        [
          'truncated body',
          { 'content-type': 'multipart/form-data; boundary=B' },
          Buffer.concat([Buffer.from(part('Content-Disposition: form-data; name="sensor_value"')), jpeg.subarray(0, 500)]),
        ],
        ['no boundary', { 'content-type': 'multipart/form-data' }, '--B\r\n\r\n'],
        [
          'too many parts',
          { 'content-type': 'multipart/form-data; boundary=B' },
          `${'--B\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n'.repeat(20)}--B--\r\n`,
        ],
      ];
      for (const [name, headers, body] of cases) {
        const answer = await raw({ ...auth(), ...headers }, body);
        expect([name, answer.status, answer.body.error.code]).toEqual([name, 400, 'invalid_multipart']);
      }
      expect(logs.filter((l) => l.level >= 40)).toEqual([]);
      const refused = logs.filter((l) => l.code === 'invalid_multipart');
      expect(refused).toHaveLength(cases.length);
      expect(JSON.stringify(refused)).not.toContain('"stack"');
    });

    it('accepts the client id as a header, the form field, or neither', async () => {
      expect((await predict({ clientHeader: 'rover-1', clientField: null })).status).toBe(200);
      expect((await predict({ clientField: null })).status).toBe(200);
      expect((await predict()).status).toBe(200);
      expect(await predict({ clientHeader: 'rover-new', clientField: null })).toMatchObject({
        status: 401,
        body: { error: { code: 'invalid_token' } },
      });
      expect(await predict({ clientField: 'rover-new' })).toMatchObject({ status: 401, body: { error: { code: 'invalid_token' } } });
    });
  });

  describe('backpressure', () => {
    it('refuses uploads beyond the in-flight budget with 503 overloaded and Retry-After', async () => {
      // An upload that declares 350 kB and sends only its start holds most of the 400 kB budget.
      const slow = http.request(`${api.url}/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'multipart/form-data; boundary=B', 'content-length': '250000' },
      });
      slow.on('error', () => undefined);
      slow.write('--B\r\n');
      await new Promise((r) => setTimeout(r, 200));
      const refusedBefore = api.analysis.status().refused;
      const big = Buffer.concat([jpeg, Buffer.alloc(150_000 - jpeg.length)]);
      const answer = await predict({ image: big });
      expect(answer).toMatchObject({ status: 503, body: { error: { code: 'overloaded' } }, retryAfter: '1' });
      expect(api.analysis.status().refused).toBe(refusedBefore + 1);
      slow.destroy();
      await new Promise((r) => setTimeout(r, 200));
      expect((await predict()).status).toBe(200);
    });

    it('refuses frames beyond the in-flight frame limit with 503 overloaded, however small they are', async () => {
      // Uploads that never finish hold every frame slot, while the byte budget has room for a hundred more.
      const stalled: http.ClientRequest[] = [];
      const stall = () => {
        const upload = http.request(`${api.url}/predict`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'multipart/form-data; boundary=B', 'content-length': '3000' },
        });
        upload.on('error', () => undefined);
        upload.write('--B\r\n');
        stalled.push(upload);
      };
      for (let i = 0; i < INFLIGHT_FRAMES; i++) stall();
      try {
        const refusedBefore = api.analysis.status().refused;
        const answer = await eventually(async () => {
          const probe = await predict();
          // A probe that got in took a slot before every stalled upload reached it: one more stalls.
          if (probe.status === 200) stall();
          expect(probe.status).toBe(503);
          return probe;
        });
        expect(answer).toMatchObject({ body: { error: { code: 'overloaded' } }, retryAfter: '1' });
        expect(api.analysis.status().refused).toBeGreaterThan(refusedBefore);
      } finally {
        for (const upload of stalled) upload.destroy();
      }
      await eventually(async () => expect((await predict()).status).toBe(200));
    });

    it('refuses frames with 503 overloaded while the event loop runs far behind, and serves them once it caught up', async () => {
      // Busy-waits hold this process's event loop 300 ms out of every 310: everything in it runs late.
      const hog = setInterval(() => {
        const until = performance.now() + 300;
        while (performance.now() < until);
      }, 10);
      let refused;
      try {
        refused = await eventually(async () => {
          const answer = await predict();
          expect(answer.status).toBe(503);
          return answer;
        });
      } finally {
        clearInterval(hog);
      }
      expect(refused).toMatchObject({
        body: { error: { code: 'overloaded', message: expect.stringMatching(/ms behind/) } },
        retryAfter: '1',
      });
      await eventually(async () => expect((await predict()).status).toBe(200));
    });

    it('neither predicts nor stores a frame whose rover hung up before its answer', async () => {
      await api.analysis.idle();
      const { processed, spooled } = api.analysis.status();
      const route = api.models.route.bind(api.models);
      const predictions = vi.spyOn(api.models, 'route');
      let hungUp!: () => void;
      const roverGone = new Promise<void>((resolve) => (hungUp = resolve));
      let predicted = false;
      predictions.mockImplementationOnce(async (...args) => {
        await roverGone;
        const routing = await route(...args);
        if (!routing) return routing;
        const { lease } = routing;
        const watched = {
          version: lease.version,
          release: () => lease.release(),
          takesJpeg: lease.takesJpeg,
          predictMm: (image: FrameImage) => ((predicted = true), lease.predictMm(image)),
          predict: (image: FrameImage) => ((predicted = true), lease.predict(image)),
        };
        return { ...routing, lease: watched };
      });
      try {
        const rover = new AbortController();
        const form = new FormData();
        form.set('sensor_value', '100');
        form.set('image', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
        const sent = fetch(`${api.url}/predict`, {
          method: 'POST',
          body: form,
          headers: { authorization: `Bearer ${token}` },
          signal: rover.signal,
        });
        await eventually(async () => expect(predictions).toHaveBeenCalled());
        rover.abort();
        await expect(sent).rejects.toThrow();
        // The API sees the closed socket on its next turn of the event loop; give it a few.
        await new Promise((r) => setTimeout(r, 200));
        hungUp();
        await eventually(async () => expect(predictions.mock.results[0]?.type).toBe('return'));
        await new Promise((r) => setTimeout(r, 200));
        await api.analysis.idle();
        expect(predicted).toBe(false);
        expect(api.analysis.status()).toMatchObject({ processed, spooled });
      } finally {
        predictions.mockRestore();
      }
      expect((await predict()).status).toBe(200);
    });

    it('refuses frames with 503 spool_full while the spool is at its bound, and counts them in the stats', async () => {
      const noise = Buffer.from(Array.from({ length: 320 * 240 * 3 }, (_, i) => (i * 7919) % 251));
      const large = await sharp(noise, { raw: { width: 320, height: 240, channels: 3 } })
        .jpeg({ quality: 95 })
        .toBuffer();
      expect(large.length).toBeGreaterThan(50_000);
      await api.analysis.idle();
      api.objects.down = true;
      try {
        const answers = [];
        for (let i = 0; i < 40; i++) {
          const answer = await predict({ image: large });
          answers.push(answer);
          if (answer.status !== 200) break;
        }
        expect(answers.at(-1)).toMatchObject({ status: 503, body: { error: { code: 'spool_full' } }, retryAfter: '5' });
        await api.analysis.idle();
        const stats = await api.analysis.writeStats();
        expect(stats!.refused).toBeGreaterThanOrEqual(1);
        expect(stats!.spoolBytes).toBeGreaterThan(300_000);
        expect(stats!.spooled).toBe(answers.length - 1);
      } finally {
        api.objects.down = false;
      }
      expect(await api.analysis.replaySpool()).toBeGreaterThan(0);
      expect(await api.analysis.spooledCount()).toBe(0);
      // What stays on disk is the segment being written, all stored: the next frame's bytes reclaim it.
      expect(api.analysis.spoolFull()).toBe(false);
      expect((await predict()).status).toBe(200);
    });
  });
});
