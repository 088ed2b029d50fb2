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
    const changed: string[] = [];
    const setPrototypeOf = Object.setPrototypeOf;
    vi.spyOn(Object, 'setPrototypeOf').mockImplementation((o: object, proto: object | null) => {
      const served = o instanceof http.IncomingMessage || o instanceof http.ServerResponse;
      if (served && Object.getPrototypeOf(o) !== proto) changed.push(o.constructor.name);
      return setPrototypeOf(o, proto);
    });
    const server = createHttpServer(app, {});
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
});
