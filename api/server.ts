import path from 'node:path';
import pino from 'pino';
import { parseCommandLineOrExit } from '../core/commandLine.js';
import { loadConfig } from '../core/config.js';
import { loadBackend } from '../core/ml/backend.js';
import { closeStores, openStores } from '../core/stores/index.js';
import { lazyTemporalClient } from '../control/temporal/client.js';
import { createApp, idempotentFramesOf, retrainDepsOf } from './app.js';
import { exposureProblems } from './exposure.js';
import { keepRetryingPendingRetrains } from '../control/retrainRequests.js';
import { FrameAnalysis } from '../ingest/frameAnalysis.js';
import { createHttpServer } from './httpServer.js';
import { ModelServer } from '../serving/modelServer.js';
import { MonitorScheduleKeeper } from '../control/monitorSchedules.js';
import { createApiMetrics } from './metrics.js';

const IDEMPOTENCY_PRUNE_INTERVAL_MS = 10 * 60 * 1000;

parseCommandLineOrExit(
  `usage: npm run api
The HTTP API alone (npm start serves it with Temporal and the workers). It takes no flags: every setting is an
environment variable (.env.example), e.g. API_HOST, API_PORT, ADMIN_TOKEN, DATA_DIR, TEMPORAL_ADDRESS, LOG_LEVEL.

examples:
  npm run api
  API_PORT=3100 DATA_DIR=./data/try TEMPORAL_ADDRESS=localhost:7233 npm run api`,
  process.argv.slice(2),
);
const config = loadConfig();
const log = pino({ level: config.logLevel });
const exposure = exposureProblems(config.api);
if (exposure.length > 0) {
  log.fatal(`refusing to start: ${exposure.join('; ')}`);
  process.exit(1);
}
const stores = await openStores(config);
const backend = await loadBackend(config.mlBackend);

const { temporal, close: closeTemporal } = lazyTemporalClient(config);
const metrics = createApiMetrics();

const models = new ModelServer({
  registry: stores.registry,
  objects: stores.objects,
  tf: backend.tf,
  batch: config.api.predictBatch,
  graph: config.api.predictGraph,
  cacheMaxBytes: config.api.modelCacheMaxBytes,
  idleMs: config.api.modelCacheIdleSeconds && config.api.modelCacheIdleSeconds * 1000,
  log,
  metrics: metrics.serving,
});
const analysis = new FrameAnalysis({
  shadow: (modelName, version, image) => models.predictWith(modelName, version, image),
  objects: stores.objects,
  measurements: stores.measurements,
  registry: stores.registry,
  spoolDir: path.join(config.dataDir, 'spool'),
  queueLimit: config.api.analysisQueueLimit,
  queueMaxBytes: config.api.analysisQueueMaxBytes,
  spoolMaxBytes: config.api.spoolMaxBytes,
  log,
  metrics: metrics.ingest,
});
await analysis.ready();

const retrainDeps = retrainDepsOf({ config, stores, temporal, log });
const monitorSchedules = new MonitorScheduleKeeper(retrainDeps);
const idempotentFrames = idempotentFramesOf({ config, stores, log });
const app = createApp({
  config,
  stores,
  models,
  analysis,
  temporal,
  backend: backend.name,
  monitorSchedules,
  log,
  metrics,
  idempotentFrames,
});
// Expired Idempotency-Keys are forgotten in the background, never on a frame's path.
const keyPruning = idempotentFrames.keepPruning(IDEMPOTENCY_PRUNE_INTERVAL_MS);
// Retrain asks recorded while Temporal was unreachable are handed to it once it answers again; drift monitor
// schedules are set up at start-up and follow registry changes made while it was unreachable.
const pendingRetrains = keepRetryingPendingRetrains(retrainDeps);
const scheduleCatchUp = setInterval(() => {
  monitorSchedules.catchUp().catch((err) => log.warn({ err: (err as Error).message }, 'drift monitor schedules not set up yet'));
}, 5000);
scheduleCatchUp.unref();
const server = createHttpServer(app, config.api);
server.once('error', (err: NodeJS.ErrnoException) => {
  const where = `${config.api.host}:${config.api.port}`;
  log.fatal(
    err.code === 'EADDRINUSE'
      ? `${where} is already in use: stop the other process or set API_PORT`
      : `cannot listen on ${where}: ${err.message}`,
  );
  process.exit(1);
});
server.listen(config.api.port, config.api.host, () => {
  log.info({ url: `http://${config.api.host}:${config.api.port}`, mlBackend: backend.name }, 'API listening');
});

async function shutdown() {
  server.close();
  // Every accepted frame is in the spool already: draining is a courtesy, bounded in time.
  await Promise.race([analysis.idle(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  await analysis.close();
  models.dispose();
  pendingRetrains.stop();
  keyPruning.stop();
  await closeTemporal();
  await closeStores(stores);
  process.exit(0);
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
