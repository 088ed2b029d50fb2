import type http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { parseCommandLineOrExit } from '../core/commandLine.js';
import { loadConfig } from '../core/config.js';
import { closeStores, openStores } from '../core/stores/index.js';
import { lazyTemporalClient } from '../control/temporal/client.js';
import { createApp, idempotentFramesOf, retrainDepsOf } from './app.js';
import { exposureProblems } from './exposure.js';
import { keepRetryingPendingRetrains } from '../control/retrainRequests.js';
import { FrameAnalysis } from '../ingest/frameAnalysis.js';
import { createHttpServer } from './httpServer.js';
import { ModelServer } from '../serving/modelServer.js';
import { candidateOpensAfterMs } from '../core/rollout/candidateArm.js';
import { MonitorScheduleKeeper } from '../control/monitorSchedules.js';
import { createApiMetrics } from './metrics.js';
import { setThreadNice } from '../core/threadPriority.js';

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
// Before any thread starts: the inference and analysis threads take the event loop's priority over, then lower it.
if (config.api.eventLoopNice !== undefined) {
  const priority = setThreadNice(config.api.eventLoopNice);
  if (priority?.refused)
    log.warn(`EVENT_LOOP_NICE=${config.api.eventLoopNice} refused (${priority.refused}); the event loop runs at nice ${priority.nice}`);
  else if (priority) log.info({ nice: priority.nice }, 'event loop priority set');
}
const exposure = exposureProblems(config.api);
if (exposure.length > 0) {
  log.fatal(`refusing to start: ${exposure.join('; ')}`);
  process.exit(1);
}
const stores = await openStores(config);

const { temporal, close: closeTemporal } = lazyTemporalClient(config);
const metrics = createApiMetrics();

const models = new ModelServer({
  registry: stores.registry,
  objects: stores.objects,
  // Models load and run on a thread of their own: the event loop never runs a TensorFlow call.
  backend: config.mlBackend,
  // Replicas each cache deployments: a rover moves to a canary's candidate once all of them have read the stage.
  candidateOpensAfterMs: candidateOpensAfterMs(config.api.registryCacheTtlMs ?? 5000),
  batch: config.api.predictBatch,
  nice: config.api.workThreadsNice,
  graph: config.api.predictGraph,
  cacheMaxBytes: config.api.modelCacheMaxBytes,
  idleMs: config.api.modelCacheIdleSeconds && config.api.modelCacheIdleSeconds * 1000,
  log,
  metrics: metrics.serving,
});
const backend = await models.backend();
const spoolDir = path.join(config.dataDir, 'spool');
const analysis = new FrameAnalysis({
  shadow: (modelName, version, image) => models.predictWith(modelName, version, image),
  objects: stores.objects,
  measurements: stores.measurements,
  registry: stores.registry,
  spoolDir,
  queueLimit: config.api.analysisQueueLimit,
  analysisNice: config.api.workThreadsNice,
  queueMaxBytes: config.api.analysisQueueMaxBytes,
  spoolMaxBytes: config.api.spoolMaxBytes,
  log,
  metrics: metrics.ingest,
});
await analysis.ready();

const retrainDeps = retrainDepsOf({ config, stores, temporal, log });
const monitorSchedules = new MonitorScheduleKeeper(retrainDeps, (config.api.monitorResyncSeconds ?? 600) * 1000);
const idempotentFrames = idempotentFramesOf({ config, stores, log });
let shuttingDown = false;
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
  shuttingDown: () => shuttingDown,
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
// Answers still to come once the process stops say `Connection: close`: a load balancer must not send another
// request on a connection the replica is closing.
const answering = new Set<http.ServerResponse>();
const closeAfterAnswer = (res: http.ServerResponse) => {
  res.shouldKeepAlive = false;
  if (!res.headersSent) res.setHeader('Connection', 'close');
};
server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
  if (shuttingDown) closeAfterAnswer(res);
  answering.add(res);
  res.once('close', () => answering.delete(res));
});
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

/**
 * A stop for good (a scale-down) as much as a restart: the process may never run on this DATA_DIR again. No new
 * connections; requests under way finish (their frames reach the spool); then every spooled frame is stored, a
 * failing store tried again, for up to SHUTDOWN_DRAIN_SECONDS in all. Frames still spooled then stay on the volume
 * (exit 1): a process started on it stores them.
 */
async function shutdown() {
  if (shuttingDown) return;
  shuttingDown = true;
  const drainMs = (config.api.shutdownDrainSeconds ?? 25) * 1000;
  const deadline = Date.now() + drainMs;
  clearInterval(scheduleCatchUp);
  pendingRetrains.stop();
  keyPruning.stop();
  answering.forEach(closeAfterAnswer);
  const closed = new Promise((resolve) => server.close(resolve));
  // A kept-alive connection closes as soon as its request is answered.
  const closeIdle = setInterval(() => server.closeIdleConnections(), 100);
  await Promise.race([closed, sleep(drainMs)]);
  clearInterval(closeIdle);
  server.closeAllConnections();
  const left = await analysis.drain(Math.max(0, deadline - Date.now()) / 1000);
  if (left > 0)
    log.error(
      { frames: left, spool: spoolDir },
      `${left} acknowledged ${left === 1 ? 'frame is' : 'frames are'} left in the spool, not stored within SHUTDOWN_DRAIN_SECONDS: ` +
        'an API started on this DATA_DIR stores them',
    );
  await analysis.close();
  models.dispose();
  await closeTemporal();
  await closeStores(stores);
  process.exit(left > 0 ? 1 : 0);
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
