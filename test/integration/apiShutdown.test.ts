import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeStores, type Stores } from '../../core/stores/index.js';
import { createServedAndFreshDeployments } from '../support/apiHarness.js';
import { spawnApi, type ApiProcess } from '../support/apiProcess.js';
import { openStoresIn } from '../support/embeddedStores.js';
import { syntheticFrame } from '../support/syntheticFrames.js';

const rover = { id: 'rover-served', token: 'token-served-0123456789', deployment: 'served' as const };

/**
 * SIGTERM while a rover's upload is under way, on a kept-alive connection (as a load balancer keeps them): the upload
 * is answered (its frame spooled, then stored before the process exits) with `Connection: close`, so the balancer
 * sends nothing more on a connection the replica is closing.
 */
describe('an API stopped with SIGTERM mid-upload', () => {
  let dir: string;
  let stores: Stores;
  let api: ApiProcess;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-shutdown-'));
    stores = await openStoresIn(dir);
    await createServedAndFreshDeployments(stores, [rover], 'run-shutdown');
    api = await spawnApi({ DATA_DIR: dir });
  });

  afterAll(async () => {
    await api?.kill9();
    await closeStores(stores);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers the upload under way with Connection: close, stores its frame and exits 0', async () => {
    const jpeg = await syntheticFrame(120, 160, 120);
    const agent = new http.Agent({ keepAlive: true });
    const boundary = 'shutdown-boundary';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="sensor_value"\r\n\r\n120\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="frame.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const upload = (sendRest: (finish: () => void) => void) =>
      new Promise<{ status: number; connection: string | undefined; body: Record<string, any> }>((resolve, reject) => {
        const url = new URL('/predict', api.url);
        const req = http.request(url, {
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${rover.token}`,
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': head.length + jpeg.length + tail.length,
          },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body: JSON.parse(text) }));
        });
        req.on('error', reject);
        req.write(head);
        req.write(jpeg.subarray(0, jpeg.length >> 1));
        sendRest(() => req.end(Buffer.concat([jpeg.subarray(jpeg.length >> 1), tail])));
      });

    // The model loaded and the connection kept alive, as between a balancer and a replica.
    const first = await upload((finish) => finish());
    expect(first.status).toBe(200);
    expect(first.connection).not.toBe('close');

    const exited = new Promise<number | null>((resolve) => api.child.once('exit', (code) => resolve(code)));
    const answer = await upload((finish) => {
      setTimeout(() => {
        api.child.kill('SIGTERM');
        setTimeout(finish, 500);
      }, 300);
    });
    agent.destroy();
    expect(answer).toMatchObject({ status: 200, connection: 'close' });
    expect(await exited).toBe(0);

    const rows = await stores.measurements.datasetRows(['served']);
    expect(rows.map((r) => r.imageKey).sort()).toEqual(
      [first.body.request_id, answer.body.request_id].map((id: string) => `features/served/${id}.jpg`).sort(),
    );
    expect(fs.readdirSync(path.join(dir, 'spool')).filter((f) => f.endsWith('.frames'))).toEqual([]);
  });
});
