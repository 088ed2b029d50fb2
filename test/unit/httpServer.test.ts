import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHttpServer } from '../../api/httpServer.js';

describe("the API's HTTP server", () => {
  afterEach(() => vi.restoreAllMocks());

  it("makes requests and responses with the app's prototypes, so Express's per-request Object.setPrototypeOf changes none", async () => {
    const app = express();
    app.get('/', (req, res) => {
      res.json({ request: Object.getPrototypeOf(req) === app.request, response: Object.getPrototypeOf(res) === app.response });
    });
    const server = createHttpServer(app, {});
    const changed: string[] = [];
    const setPrototypeOf = Object.setPrototypeOf;
    vi.spyOn(Object, 'setPrototypeOf').mockImplementation((o: object, proto: object | null) => {
      const served = o instanceof http.IncomingMessage || o instanceof http.ServerResponse;
      if (served && Object.getPrototypeOf(o) !== proto) changed.push(o.constructor.name);
      return setPrototypeOf(o, proto);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        expect(await res.json()).toEqual({ request: true, response: true });
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(changed).toEqual([]);
  });

  it("keeps Express's request and response API on the classes that take the app's prototypes' place", async () => {
    const app = express();
    app.set('answer', 42);
    app.get('/things/:id', (req, res) => {
      res.locals.seen = true;
      res
        .status(201)
        .set('X-Seen', String(res.locals.seen))
        .json({
          app: req.app === app,
          setting: req.app.get('answer'),
          id: req.params.id,
          query: req.query,
          path: req.path,
          header: req.get('x-probe'),
        });
    });
    const server = createHttpServer(app, {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/things/7?color=red`, { headers: { 'X-Probe': 'yes' } });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-seen')).toBe('true');
      expect(await res.json()).toEqual({ app: true, setting: 42, id: '7', query: { color: 'red' }, path: '/things/7', header: 'yes' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
