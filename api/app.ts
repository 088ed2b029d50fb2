import type { Client } from '@temporalio/client';
import express from 'express';
import type { Logger } from 'pino';
import type { Config } from '../core/config.js';
import type { Stores } from '../core/stores/index.js';
import { AdminAccess } from './access.js';
import { errorHandler, unknownRoute } from './errors.js';
import { isoTimes } from './isoTimes.js';
import { jsonLimits } from './jsonLimits.js';
import type { FrameAnalysis } from '../ingest/frameAnalysis.js';
import type { ModelServer } from '../serving/modelServer.js';
import { openApiDocument } from './openapi/document.js';
import { adminRoutes } from './routes/admin.js';
import { healthRoutes } from './routes/health.js';
import { consoleRoutes } from './routes/console.js';
import { landingRoutes } from './routes/landing.js';
import { predictRoutes } from './routes/predict.js';
import { DEFAULT_OVERLOAD_DELAY_MS, EventLoopPressure } from './eventLoopPressure.js';
import { RegistryLookups } from '../serving/registryLookups.js';
import { readRoutes } from './routes/reads.js';
import { retrainRoutes } from './routes/retrain.js';
import type { RetrainDeps } from '../control/retrainRequests.js';
import { MonitorScheduleKeeper } from '../control/monitorSchedules.js';
import { monitorRoutes } from './routes/monitor.js';
import { rolloutRoutes } from './routes/rollout.js';
import { deploymentReadRoutes } from './routes/deploymentReads.js';
import { sensorFaultRoutes } from './routes/sensorFaults.js';
import { accessLog } from './accessLog.js';
import { accessRoutes } from './routes/access.js';
import { roverRoutes } from './routes/rover.js';
import { parkingRunReadRoutes } from './routes/parkingRuns.js';
import { createApiMetrics, type ApiMetrics } from './metrics.js';
import { IdempotentFrames } from '../control/idempotentFrames.js';

export interface AppDeps {
  config: { api: Config['api']; temporal: Pick<Config['temporal'], 'namespace' | 'uiUrl'> };
  stores: Stores;
  models: ModelServer;
  analysis: FrameAnalysis;
  temporal: () => Promise<Client>;
  backend: string;
  /** The drift monitors' schedules; the server shares it with its catch-up loop. */
  monitorSchedules?: MonitorScheduleKeeper;
  log: Logger;
  /** The Prometheus metrics; the server shares them with the model server and the analysis it built. */
  metrics?: ApiMetrics;
  /** Frames' Idempotency-Keys; the server shares them with its pruning loop. */
  idempotentFrames?: IdempotentFrames;
  /** True once the process was told to stop: `/readyz/replica` answers 503 from then on. */
  shuttingDown?: () => boolean;
}

/** Beyond its upload's deadline, how long a frame's handling may take (predict and spool) before it counts as dead. */
const FRAME_HANDLING_SECONDS = 20;

/** The API's Idempotency-Keys of frames, with its settings. */
export function idempotentFramesOf(deps: Pick<AppDeps, 'config' | 'stores' | 'log'>): IdempotentFrames {
  const { api } = deps.config;
  return new IdempotentFrames(
    deps.stores.registry,
    {
      pendingDeadlineMs: ((api.uploadTimeoutSeconds ?? 10) + FRAME_HANDLING_SECONDS) * 1000,
      ttlMs: (api.idempotencyKeyTtlHours ?? 24) * 3600 * 1000,
    },
    deps.log,
  );
}

/** What the retrain routes and the pending-retrain retrier need. */
export function retrainDepsOf(deps: Pick<AppDeps, 'config' | 'stores' | 'temporal' | 'log'>): RetrainDeps {
  return {
    registry: deps.stores.registry,
    temporal: deps.temporal,
    temporalUi: { url: deps.config.temporal.uiUrl, namespace: deps.config.temporal.namespace },
    log: deps.log,
  };
}

/** The Express app: every route, JSON errors everywhere. */
export function createApp(deps: AppDeps): express.Express {
  const { config, stores } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('json replacer', isoTimes);
  const metrics = deps.metrics ?? createApiMetrics();
  metrics.observe({ analysis: deps.analysis, models: deps.models });
  app.use(accessLog(deps.log));
  app.use(metrics.http);
  app.use(metrics.routes());
  app.use(express.json({ limit: '256kb' }));
  app.use(jsonLimits({ maxDepth: config.api.jsonMaxDepth, maxKeys: config.api.jsonMaxKeys }));

  app.use(
    healthRoutes({
      stores,
      temporal: deps.temporal,
      analysis: deps.analysis,
      backend: deps.backend,
      namespace: config.temporal.namespace,
      adminToken: config.api.adminToken,
      checkTimeoutSeconds: config.api.readyCheckTimeoutSeconds,
      shuttingDown: deps.shuttingDown,
    }),
  );
  app.use(landingRoutes({ temporalUiUrl: config.temporal.uiUrl }));
  app.use(consoleRoutes());
  // Generated once, from the schemas the routes validate with; served without a token.
  const description = openApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(description);
  });
  const lookups = new RegistryLookups(stores.registry, {
    ttlMs: config.api.registryCacheTtlMs ?? 5000,
    log: deps.log,
    metrics: metrics.lookups,
  });
  app.use(
    predictRoutes({
      lookups,
      models: deps.models,
      analysis: deps.analysis,
      maxImageBytes: config.api.maxImageBytes,
      inflightMaxBytes: config.api.inflightMaxBytes,
      inflightMaxFrames: config.api.inflightMaxFrames,
      inflightClientMaxFrames: config.api.inflightClientMaxFrames,
      uploadTimeoutSeconds: config.api.uploadTimeoutSeconds,
      pressure: new EventLoopPressure(config.api.overloadDelayMs ?? DEFAULT_OVERLOAD_DELAY_MS),
      imageLimits: config.api.imageLimits,
      log: deps.log,
      metrics,
      idempotentFrames: deps.idempotentFrames ?? idempotentFramesOf(deps),
      frameMaxAgeMs: config.api.frameMaxAgeHours && config.api.frameMaxAgeHours * 3600 * 1000,
    }),
  );
  // Before the admin routes: a rover's own token reaches these.
  app.use(roverRoutes({ lookups, registry: stores.registry, metrics, candidateOpensAfterMs: deps.models.candidateOpensAfterMs }));
  // The admin token, or a viewer token on a GET (api/access.ts).
  const access = new AdminAccess(config.api.adminToken, stores.registry);
  const admin = access.adminOrReader;
  app.use(
    retrainRoutes({
      ...retrainDepsOf(deps),
      admin,
      webhookToken: config.api.webhookToken,
    }),
  );
  app.use(accessRoutes({ registry: stores.registry, access }));

  const schedules = deps.monitorSchedules ?? new MonitorScheduleKeeper(retrainDepsOf(deps));
  app.use(admin, adminRoutes(lookups.invalidatingOnChange(stores.registry), { modelChanged: (name) => schedules.modelChanged(name) }));
  app.use(admin, monitorRoutes({ ...retrainDepsOf(deps), measurements: stores.measurements, objects: stores.objects }));
  app.use(admin, rolloutRoutes(retrainDepsOf(deps)));
  app.use(
    admin,
    readRoutes({
      registry: stores.registry,
      measurements: stores.measurements,
      objects: stores.objects,
      temporalUiUrl: config.temporal.uiUrl,
      namespace: config.temporal.namespace,
    }),
  );
  app.use(
    admin,
    deploymentReadRoutes({
      registry: stores.registry,
      measurements: stores.measurements,
      objects: stores.objects,
      temporalUi: retrainDepsOf(deps).temporalUi,
    }),
  );
  app.use(admin, sensorFaultRoutes({ registry: stores.registry }));
  app.use(admin, parkingRunReadRoutes({ registry: stores.registry }));

  app.use(unknownRoute);
  app.use(errorHandler(deps.log));
  return app;
}
