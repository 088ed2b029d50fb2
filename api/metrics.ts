import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Router, type RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FrameAnalysis } from '../ingest/frameAnalysis.js';
import type { ModelServer } from '../serving/modelServer.js';

/** What a scrape reads from the serving and ingest modules: they know nothing of Prometheus. */
export interface ObservedParts {
  analysis: Pick<FrameAnalysis, 'counters' | 'status' | 'spooledCount' | 'oldestUnstoredTime'>;
  models: Pick<ModelServer, 'cacheSize'>;
}

/** A label for requests that matched no route (404s, and requests refused before routing: body parsing, admin auth). */
export const UNMATCHED_ROUTE = 'unmatched';

/** How often the stall gauge's timer ticks: a stall reads at most this much longer than it was (a tick costs ~7 us of CPU). */
export const STALL_RESOLUTION_MS = 5;

/**
 * The API's Prometheus metrics, in a registry of its own (docs/METRICS.md lists them). The HTTP layer counts requests,
 * refusals and frames received; model loads, micro-batches and registry lookups are reported through the small
 * callbacks their modules take; spool, analysis and model cache figures are read from them at each scrape.
 */
export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const requests = new Counter({
    name: 'api_http_requests_total',
    help: 'HTTP requests answered, by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'api_http_request_duration_seconds',
    help: 'Time from a request arriving to its answer being sent, by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const refused = new Counter({
    name: 'api_refused_requests_total',
    help: "Requests answered 503 or 429, by route template, status and reason code (the error body's code)",
    labelNames: ['route', 'status', 'reason'] as const,
    registers,
  });
  const framesReceived = new Counter({
    name: 'api_frames_received_total',
    help: 'Frames whose upload /predict received in full',
    registers,
  });

  const parkingRuns = new Counter({
    name: 'parking_runs_total',
    help: 'Parking runs the rovers reported (each run once), by deployment, steering mode and outcome (parked, hit, early)',
    labelNames: ['deployment', 'mode', 'outcome'] as const,
    registers,
  });

  const observed: { parts?: ObservedParts } = {};
  /** A counter kept by the module itself, copied at each scrape. */
  const counterOf = (name: string, help: string, read: (parts: ObservedParts) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        if (!observed.parts) return;
        this.reset();
        this.inc(read(observed.parts));
      },
    });
  const gaugeOf = (name: string, help: string, read: (parts: ObservedParts) => number | Promise<number>) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        if (observed.parts) this.set(await read(observed.parts));
      },
    });
  counterOf(
    'api_frames_acknowledged_total',
    'Frames made durable in the spool: the answer (200, or 503 no_model) promised the API keeps them',
    (p) => p.analysis.counters.spooled,
  );
  counterOf(
    'api_frames_stored_total',
    'Frames whose object and measurement record were written (they left the spool)',
    (p) => p.analysis.counters.processed + p.analysis.counters.replayed,
  );
  counterOf(
    'api_frame_store_failures_total',
    'Attempts to store a frame that failed (the frame waits in the spool and is tried again)',
    (p) => p.analysis.counters.failed,
  );
  gaugeOf('api_spool_frames', 'Frames in the spool whose object and record are not stored yet', (p) => p.analysis.spooledCount());
  gaugeOf(
    'api_spool_bytes',
    'Bytes of the spool on disk, with the segment being written whose frames may all be stored (SPOOL_MAX_BYTES bounds it: beyond, 503 spool_full)',
    (p) => p.analysis.status().spoolBytes,
  );
  gaugeOf('api_analysis_lag_seconds', 'Age of the oldest frame not stored yet (0 when none waits)', (p) => {
    const oldest = p.analysis.oldestUnstoredTime();
    return oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000);
  });
  const loopDelay = monitorEventLoopDelay({ resolution: STALL_RESOLUTION_MS });
  loopDelay.enable();
  new Gauge({
    name: 'api_event_loop_stall_max_seconds',
    help: `Longest event-loop stall since the previous scrape: the longest time between two ticks of a ${STALL_RESOLUTION_MS} ms timer (at least ${STALL_RESOLUTION_MS} ms, at most ${STALL_RESOLUTION_MS} ms more than the stall)`,
    registers,
    collect() {
      this.set(loopDelay.count > 0 ? loopDelay.max / 1e9 : 0);
      loopDelay.reset();
    },
  });
  gaugeOf('api_model_cache_versions', 'Model versions loaded in memory', (p) => p.models.cacheSize().versions);
  gaugeOf(
    'api_model_cache_bytes',
    'Bytes of model weights loaded in memory (MODEL_CACHE_MAX_BYTES bounds it)',
    (p) => p.models.cacheSize().bytes,
  );

  const batchSize = new Histogram({
    name: 'api_micro_batch_size',
    help: 'Items per micro-batch: frames per model call (batcher="predict"), frames per task of an analysis thread (batcher="analysis"), records per measurement write (batcher="records")',
    labelNames: ['batcher'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers,
  });
  const modelLoads = new Counter({
    name: 'api_model_loads_total',
    help: 'Model version loads (fetch, deserialize, compile, warm), by outcome',
    labelNames: ['outcome'] as const,
    registers,
  });
  const modelLoadDuration = new Histogram({
    name: 'api_model_load_duration_seconds',
    help: 'Time a model version took to load and warm, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const lookups = new Counter({
    name: 'api_registry_lookups_total',
    help: 'Client and deployment lookups of /predict by result: hit (cache), miss (asked the registry), stale (registry down, cached answer served)',
    labelNames: ['lookup', 'result'] as const,
    registers,
  });

  /** Counts and times every request by its route template once answered; 503s and 429s by reason as well. */
  const http: RequestHandler = (req, res, next) => {
    const end = duration.startTimer();
    res.once('finish', () => {
      const route = req.route?.path === undefined ? UNMATCHED_ROUTE : `${req.baseUrl}${String(req.route.path)}`;
      const labels = { route, method: req.method, status: String(res.statusCode) };
      requests.inc(labels);
      end(labels);
      if (res.statusCode === 503 || res.statusCode === 429)
        refused.inc({ route, status: labels.status, reason: String(res.locals.errorCode ?? 'unknown') });
    });
    next();
  };

  return {
    registry,
    http,
    /** GET /metrics: unauthenticated, as Prometheus scrapes it (docs/METRICS.md). */
    routes(): Router {
      const router = Router();
      router.get('/metrics', async (_req, res) => {
        res.set('Content-Type', registry.contentType).send(await registry.metrics());
      });
      return router;
    },
    frameReceived: () => framesReceived.inc(),
    /** A parking run stored for the first time (a deployment of none is labelled `none`). */
    parkingRunRecorded: (run: { deployment: string | null; mode: string; outcome: string }) =>
      parkingRuns.inc({ deployment: run.deployment ?? 'none', mode: run.mode, outcome: run.outcome }),
    /** Reads spool, analysis and model cache figures from these at each scrape. */
    observe(parts: ObservedParts) {
      observed.parts = parts;
    },
    /** For the ModelServer's `metrics` option. */
    serving: {
      batchRun: (frames: number) => batchSize.observe({ batcher: 'predict' }, frames),
      modelLoaded: (seconds: number, outcome: 'loaded' | 'failed') => {
        modelLoads.inc({ outcome });
        modelLoadDuration.observe({ outcome }, seconds);
      },
    },
    /** For the FrameAnalysis's `metrics` option. */
    ingest: {
      analysisBatch: (frames: number) => batchSize.observe({ batcher: 'analysis' }, frames),
      recordBatch: (records: number) => batchSize.observe({ batcher: 'records' }, records),
    },
    /** For the RegistryLookups' `metrics` option. */
    lookups: {
      lookup: (lookup: 'client' | 'deployment' | 'token', result: 'hit' | 'miss' | 'stale') => lookups.inc({ lookup, result }),
    },
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
