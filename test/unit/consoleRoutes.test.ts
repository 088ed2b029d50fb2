import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleRoutes } from '../../api/routes/console.js';
import { errorHandler, unknownRoute } from '../../api/errors.js';
import pino from 'pino';

/** The console's static files: served under /console/ with a CSP that allows no inline script, or 503 when not built. */
describe('GET /console/', () => {
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'console-dist-'));
  let url: string;
  let close: () => void;

  beforeAll(async () => {
    fs.writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>console</title>');
    fs.writeFileSync(path.join(dist, 'app.js'), 'console.log(1)');
    const app = express();
    app.use(consoleRoutes({ dist }));
    app.use('/elsewhere', consoleRoutes({ dist: path.join(dist, 'missing') }));
    app.use(unknownRoute);
    app.use(errorHandler(pino({ level: 'silent' })));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => {
    close();
    fs.rmSync(dist, { recursive: true, force: true });
  });

  it('serves index.html and the bundle with a strict Content-Security-Policy', async () => {
    const page = await fetch(`${url}/console/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>console</title>');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp.split('; ').find((d) => d.startsWith('script-src'))).toBe("script-src 'self'");
    const bundle = await fetch(`${url}/console/app.js`);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
  });

  it('sends /console to /console/ so the bundle resolves relative to it', async () => {
    const answer = await fetch(`${url}/console`, { redirect: 'manual' });
    expect(answer.status).toBe(301);
    expect(answer.headers.get('location')).toBe('/console/');
  });

  it('answers an unknown file as the API does (404 JSON), not with the page', async () => {
    const answer = await fetch(`${url}/console/nothing.js`);
    expect(answer.status).toBe(404);
    expect((await answer.json()).error.code).toBe('not_found');
  });

  it('says how to build the console when it is not built', async () => {
    const answer = await fetch(`${url}/elsewhere/console/`);
    expect(answer.status).toBe(503);
    expect((await answer.json()).error).toMatchObject({
      code: 'console_not_built',
      message: expect.stringMatching(/npm run console:build/),
    });
  });
});
