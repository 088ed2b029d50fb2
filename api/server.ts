import path from 'node:path';
import type { Client } from '@temporalio/client';
import pino from 'pino';
import { loadConfig } from '../core/config.js';
import { loadBackend } from '../core/ml/backend.js';
import { closeStores, openStores } from '../core/stores/index.js';
import { connectClient } from '../core/temporalClient.js';
import { createApp } from './app.js';
import { exposureProblems } from './exposure.js';
import { FrameAnalysis } from './frameAnalysis.js';
import { ModelServer } from './modelServer.js';

const config = loadConfig();
const log = pino({ level: config.logLevel });
const exposure = exposureProblems(config.api);
if (exposure.length > 0) {
  log.fatal(`refusing to start: ${exposure.join('; ')}`);
  process.exit(1);
}
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
  log,
});
void analysis.replaySpool();

const app = createApp({ config, stores, models, analysis, temporal, backend: backend.name, log });
const server = app.listen(config.api.port, config.api.host, (err?: Error) => {
  if (err) {
    const where = `${config.api.host}:${config.api.port}`;
    const code = (err as NodeJS.ErrnoException).code;
    log.fatal(
      code === 'EADDRINUSE'
        ? `${where} is already in use: stop the other process or set API_PORT`
        : `cannot listen on ${where}: ${err.message}`,
    );
    process.exit(1);
  }
  log.info({ url: `http://${config.api.host}:${config.api.port}`, mlBackend: backend.name }, 'API listening');
});

async function shutdown() {
  server.close();
  await analysis.idle();
  await analysis.close();
  models.dispose();
  await (await client?.catch(() => undefined))?.connection.close();
  await closeStores(stores);
  process.exit(0);
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
