/**
 * A server process for bench/requestOverhead.ts: /predict built up to one rung of the API's own request handling
 * (RUNG, 0-based in REQUEST_RUNGS), answering a fixed prediction instead of running a model. It tells its parent its
 * port, and its own CPU time whenever asked, over IPC. Its log lines go to its stdout (a file), as the API's do.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import multer from 'multer';
import pino from 'pino';
import { accessLog } from '../api/accessLog.js';
import { createApiMetrics } from '../api/metrics.js';
import { jsonLimits } from '../api/jsonLimits.js';
import { authenticateRover } from '../api/roverAuth.js';
import { hashToken } from '../api/auth.js';
import { checkFrame } from '../core/features/imageGate.js';
import type { Deployment, RegisteredClient, RegistryStore } from '../core/stores/registry.js';
import { BENCH_CLIENT, BENCH_TOKEN } from './requestOverhead.js';
import { RegistryLookups } from '../serving/registryLookups.js';

const ANSWER = { prediction_mm: 123.4, deployment: 'bench', model: { name: 'bench', version: 1 }, request_id: 'bench' };

const rung = Number(process.env.RUNG);
const client = { id: BENCH_CLIENT, tokenHash: hashToken(BENCH_TOKEN), deploymentId: 'bench' } as RegisteredClient;
const deployment = { id: 'bench', modelName: 'bench' } as Deployment;
// A registry that knows the one rover: after the first request the lookups answer from their cache, as the API's do.
const registry = { getClient: async () => client, listClients: async () => [client], getDeployment: async () => deployment };
const lookups = new RegistryLookups(registry as unknown as RegistryStore, { ttlMs: 3_600_000, log: pino({ level: 'silent' }) });

function bare(): http.RequestListener {
  return (req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(JSON.stringify(ANSWER));
    });
  };
}

function app(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  if (rung >= 2) app.use(accessLog(pino({ level: 'info' })));
  if (rung >= 3) {
    const metrics = createApiMetrics();
    app.use(metrics.http);
    app.use(metrics.routes());
    app.use(express.json({ limit: '256kb' }));
    app.use(jsonLimits({ maxDepth: 32, maxKeys: 1000 }));
  }
  const steps: RequestHandler[] = [];
  if (rung >= 5)
    steps.push(async (req, res, next) => {
      res.locals.client = await authenticateRover(req, lookups);
      await lookups.deployment(client.deploymentId!);
      next();
    });
  if (rung >= 4)
    steps.push(
      multer({
        storage: multer.memoryStorage(),
        limits: { fileSize: 2 * 1024 * 1024, files: 1, fields: 8, fieldSize: 1024, parts: 10, headerPairs: 20 },
      }).single('image'),
    );
  else
    steps.push((req, _res, next) => {
      req.on('data', () => {});
      req.on('end', () => next());
    });
  if (rung >= 6)
    steps.push(async (req, _res, next) => {
      await checkFrame(req.file!.buffer);
      next();
    });
  app.post('/predict', ...steps, (_req, res) => {
    res.json(ANSWER);
  });
  return app;
}

const server = http.createServer(rung === 0 ? bare() : app());
server.listen(0, '127.0.0.1', () => {
  process.send!({ port: (server.address() as AddressInfo).port });
});
process.on('message', (message: string) => {
  if (message === 'cpu') process.send!({ cpu: process.cpuUsage() });
  if (message === 'stop') server.close(() => process.exit(0));
});
