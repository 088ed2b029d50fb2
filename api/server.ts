import path from 'node:path';
import type { Client } from '@temporalio/client';
import pino from 'pino';
import { loadConfig } from '../core/config.js';
import { loadBackend } from '../core/ml/backend.js';
import { closeStores, openStores } from '../core/stores/index.js';
import { connectClient } from '../core/temporalClient.js';
import { createApp } from './app.js';
import { FrameAnalysis } from './frameAnalysis.js';
import { ModelServer } from './modelServer.js';

const config = loadConfig();
const log = pino({ level: config.logLevel });
const stores = await openStores(config);
const backend = await loadBackend(config.mlBackend);

let client: Promise<Client> | undefined;
const temporal = () => {
  client ??= connectClient(config, '3s').catch((err) => {
    client = undefined;
    throw err;
  });
  return client;
};

const models = new ModelServer({ registry: stores.registry, objects: stores.objects, tf: backend.tf, log });
const analysis = new FrameAnalysis({
  objects: stores.objects,
  measurements: stores.measurements,
  spoolDir: path.join(config.dataDir, 'spool'),
  queueLimit: config.api.analysisQueueLimit,
  queueMaxBytes: config.api.analysisQueueMaxBytes,
  spoolMaxBytes: config.api.spoolMaxBytes,
  log,
});
await analysis.ready();

const app = createApp({ config, stores, models, analysis, temporal, backend: backend.name, log });
const server = app.listen(config.api.port, config.api.host, () => {
  log.info({ url: `http://${config.api.host}:${config.api.port}`, mlBackend: backend.name }, 'API listening');
});

async function shutdown() {
  server.close();
  // Every accepted frame is in the spool already: draining is a courtesy, bounded in time.
  await Promise.race([analysis.idle(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  await analysis.close();
  models.dispose();
  await (await client?.catch(() => undefined))?.connection.close();
  await closeStores(stores);
  process.exit(0);
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
