import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../api/auth.js';
import { closeStores, openStores, type Stores } from '../../core/stores/index.js';
import { spawnApi, type ApiProcess } from '../support/apiProcess.js';
import { registerUntrainedVersion } from '../support/apiHarness.js';
import { syntheticFrame } from '../support/syntheticFrames.js';

const SLOW_UPLOADS = 32;
const UPLOAD_TIMEOUT_SECONDS = 2;

interface SlowUpload {
  /** The status line the API answered with, if any. */
  status?: string;
  /** Whether the API closed the connection while the upload was still trickling. */
  cutOff: boolean;
  stop(): void;
}

/**
 * One rover token holding many uploads open by sending their bodies at 1 byte/s, over raw sockets (what a slow or
 * hostile link does), beside another rover sending normal frames to a real API process.
 */
describe('slow uploads cannot hold /predict', () => {
  let dir: string;
  let stores: Stores;
  let api: ApiProcess;
  let jpeg: Buffer;
  const slowToken = 'token-slow-0123456789';
  const normalToken = 'token-normal-0123456789';

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-slow-'));
    const urls = {
      registryUrl: `sqlite:${path.join(dir, 'registry.db')}`,
      measurementsUrl: `sqlite:${path.join(dir, 'measurements.db')}`,
      objectsUrl: `file:${path.join(dir, 'objects')}`,
    };
    stores = await openStores(urls);
    await stores.registry.createDeployment({ id: 'beige', modelName: 'distance', modelVersion: 'latest', strategy: 'direct' });
    for (const [id, token] of [
      ['rover-slow', slowToken],
      ['rover-normal', normalToken],
    ])
      await stores.registry.createClient({ id, name: id, tokenHash: hashToken(token), deploymentId: 'beige' });
    await registerUntrainedVersion(stores, 'distance', 'run-slow');
    jpeg = await syntheticFrame(120, 160, 120);
    api = await spawnApi({
      DATA_DIR: dir,
      REGISTRY_URL: urls.registryUrl,
      MEASUREMENTS_URL: urls.measurementsUrl,
      OBJECTS_URL: urls.objectsUrl,
      INFLIGHT_MAX_FRAMES: String(SLOW_UPLOADS),
      PREDICT_UPLOAD_TIMEOUT_SECONDS: String(UPLOAD_TIMEOUT_SECONDS),
      HTTP_HEADERS_TIMEOUT_SECONDS: '2',
      // Beyond the test's length: what ends the slow uploads here is /predict's own deadline and refusals.
      HTTP_REQUEST_TIMEOUT_SECONDS: '120',
      // This test is about slow sockets, not a busy event loop: a loaded CI machine must not shed frames.
      OVERLOAD_EVENT_LOOP_DELAY_MS: '10000',
    });
  });

  afterAll(async () => {
    await api?.stop();
    await closeStores(stores);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A /predict upload whose headers arrive at once and whose multipart body then trickles in at 1 byte/s. */
  function slowUpload(): SlowUpload {
    const { port } = new URL(api.url);
    const body = Buffer.concat([
      Buffer.from('--B\r\nContent-Disposition: form-data; name="image"; filename="f.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'),
      jpeg,
      Buffer.from('\r\n--B--\r\n'),
    ]);
    const socket = net.connect(Number(port), '127.0.0.1');
    const upload: SlowUpload = { cutOff: false, stop: () => undefined };
    let sent = 0;
    let received = '';
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      received += d.toString('latin1');
      upload.status ??= /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
    });
    socket.write(
      `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${slowToken}\r\n` +
        `Content-Type: multipart/form-data; boundary=B\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    const trickle = setInterval(() => {
      if (sent < body.length) socket.write(body.subarray(sent, ++sent));
    }, 1000);
    socket.on('close', () => {
      upload.cutOff = sent < body.length;
      clearInterval(trickle);
    });
    upload.stop = () => {
      clearInterval(trickle);
      socket.destroy();
    };
    return upload;
  }

  it('answers a normal rover while one token trickles 32 uploads, and cuts the slow ones off', async () => {
    const slow = Array.from({ length: SLOW_UPLOADS }, slowUpload);
    try {
      // Every slot the slow token can take is taken before the normal rover starts.
      await new Promise((r) => setTimeout(r, 500));
      const statuses: number[] = [];
      const until = Date.now() + 3 * UPLOAD_TIMEOUT_SECONDS * 1000;
      while (Date.now() < until) {
        const form = new FormData();
        form.set('sensor_value', '120');
        form.set('image', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
        const res = await fetch(`${api.url}/predict`, { method: 'POST', body: form, headers: { authorization: `Bearer ${normalToken}` } });
        await res.arrayBuffer();
        statuses.push(res.status);
      }
      expect(statuses.length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);

      // The API ends every slow upload itself, long before its 700-odd bytes could arrive at 1 byte/s.
      const deadline = Date.now() + 60_000;
      while (slow.some((u) => !u.cutOff) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(slow.filter((u) => !u.cutOff)).toHaveLength(0);
      const answers = slow.map((u) => u.status).sort();
      expect(answers.filter((s) => s !== '408' && s !== '429')).toEqual([]);
      expect(answers).toContain('408');
    } finally {
      for (const upload of slow) upload.stop();
    }
    // With the slow uploads gone, the slow rover's own normal frames are served again.
    const form = new FormData();
    form.set('image', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
    const again = await fetch(`${api.url}/predict`, { method: 'POST', body: form, headers: { authorization: `Bearer ${slowToken}` } });
    expect(again.status).toBe(200);
  });
});
