import path from 'node:path';
import { z } from 'zod';
import type { ImageLimits } from './features/imageGate.js';

/** Development defaults of the API's secrets: only ever accepted on a loopback API_HOST (api/exposure.ts). */
export const DEV_ADMIN_TOKEN = 'dev-admin-token';
export const DEV_WEBHOOK_TOKEN = 'dev-webhook-token';

/**
 * Micro-batching of /predict, when not configured: the config's defaults and the model server's. A 20 ms window at 128
 * frames/s: 3 frames a model call instead of 2, 0.6-1.0 ms less API CPU a frame, p99 +5-14 ms (bench/README.md
 * "Issue 26, fourth stop").
 */
export const PREDICT_BATCH_DEFAULTS = { maxItems: 16, windowMs: 20 } as const;

/**
 * Every setting of every process, read from the environment once and validated.
 * Store URLs follow MLflow's convention: the scheme picks the implementation.
 */
export const envSchema = z.object({
  DATA_DIR: z.string().default('./data').describe("Folder of the embedded stores, the frame spool and the dev server's history."),
  REGISTRY_URL: z
    .string()
    .optional()
    .describe('Model registry: `sqlite:<file>` (unset: `sqlite:$DATA_DIR/registry.db`) or `mysql://user:password@host:3306/database`.'),
  MEASUREMENTS_URL: z
    .string()
    .optional()
    .describe(
      'Measurement store: `sqlite:<file>` (unset: `sqlite:$DATA_DIR/measurements.db`) or `influxdb://user:password@host:8086/database[?retentionPolicy=&org=&bucket=&token=]`.',
    ),
  OBJECTS_URL: z
    .string()
    .optional()
    .describe(
      'Object store: `file:<folder>` (unset: `file:$DATA_DIR/objects`) or `s3://access:secret@host:9000/bucket[?tls=true&region=]`.',
    ),
  TEMPORAL_ADDRESS: z
    .string()
    .optional()
    .describe("Temporal frontend `host:port`. Unset: `localhost:7233`, and `npm start` runs Temporal's dev server there."),
  TEMPORAL_NAMESPACE: z.string().default('default').describe('Temporal namespace of every workflow and schedule.'),
  TEMPORAL_UI_PORT: z.coerce
    .number()
    .int()
    .default(8233)
    .describe("Port of the dev server's Web UI (and of the default `TEMPORAL_UI_URL`)."),
  TEMPORAL_UI_URL: z
    .string()
    .optional()
    .describe('Base of the Web UI links the API gives for workflow runs. Unset: `http://localhost:$TEMPORAL_UI_PORT`.'),
  API_PORT: z.coerce.number().int().default(3000).describe('Port the API listens on.'),
  API_HOST: z
    .string()
    .default('127.0.0.1')
    .describe(
      'Address the API listens on. On a non-loopback address the API refuses to start with unset, `dev-*` or `change-me-*` tokens.',
    ),
  ADMIN_TOKEN: z
    .string()
    .min(8)
    .default(DEV_ADMIN_TOKEN)
    .describe('Bearer token of the admin routes (at least 8 characters; the default is accepted on a loopback `API_HOST` only).'),
  WEBHOOK_TOKEN: z
    .string()
    .min(8)
    .default(DEV_WEBHOOK_TOKEN)
    .describe('Bearer token of `POST /webhooks/grafana` (at least 8 characters; the default is accepted on a loopback `API_HOST` only).'),
  MAX_IMAGE_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(2 * 1024 * 1024)
    .describe('Largest `/predict` image in bytes (2 MiB); a `Content-Length` over it plus 64 KiB is a 413 at once.'),
  ANALYSIS_QUEUE_LIMIT: z.coerce
    .number()
    .int()
    .positive()
    .default(1000)
    .describe('Frames the analysis holds in memory; the rest wait in the spool on disk.'),
  EVENT_LOOP_NICE: z.coerce
    .number()
    .int()
    .min(-20)
    .max(19)
    .optional()
    .describe(
      "Nice value the API's event loop asks for at start (Linux), e.g. -10: on a machine whose cores are busy, answering requests then gets a core first (bench/README: the longest event-loop stall at 128 frames/s was 18-42 ms at the same priority as the load, 13 ms at -10). Below the current value it needs CAP_SYS_NICE or an RLIMIT_NICE that allows it (Docker Compose `ulimits: nice: 30` allows down to -10); refused, the API logs a warning and runs as it is. Unset: unchanged. Work threads start from it, `WORK_THREADS_NICE` below.",
    ),
  WORK_THREADS_NICE: z.coerce
    .number()
    .int()
    .min(0)
    .max(19)
    .default(5)
    .describe(
      "Nice levels the API's inference thread and analysis threads run below its event loop (Linux), so that answering requests gets the cores first; 0: the same priority.",
    ),
  READY_CHECK_TIMEOUT_SECONDS: z.coerce.number().positive().default(2).describe('Deadline of each `GET /readyz` check.'),
  SHUTDOWN_DRAIN_SECONDS: z.coerce
    .number()
    .positive()
    .default(25)
    .describe(
      "After SIGTERM, how long the API keeps storing its spooled frames before it exits (1, with the count in the log, when some are left on its volume); below the orchestrator's grace (Kubernetes: 30 s).",
    ),
  JSON_MAX_DEPTH: z.coerce
    .number()
    .int()
    .positive()
    .default(32)
    .describe('Deepest nesting of a JSON request body; deeper is `400 json_too_deep` before any route sees it.'),
  JSON_MAX_KEYS: z.coerce
    .number()
    .int()
    .positive()
    .default(50_000)
    .describe('Most keys and array items in a JSON request body; more is `413 json_too_many_keys`.'),
  ANALYSIS_QUEUE_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024)
    .describe('Image bytes the analysis holds in memory (64 MiB); beyond, frames wait in the spool only.'),
  SPOOL_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 ** 3)
    .describe('Bytes of the write-ahead frame spool on disk (1 GiB); when full, `/predict` answers `503 spool_full`.'),
  INFLIGHT_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024)
    .describe('Bytes of `/predict` uploads received at once (64 MiB; a request reserves its `Content-Length`); beyond, `503 overloaded`.'),
  INFLIGHT_MAX_FRAMES: z.coerce
    .number()
    .int()
    .positive()
    .default(32)
    .describe("Frames `/predict` handles at once, from the upload's start to the answer; beyond, `503 overloaded`."),
  INFLIGHT_CLIENT_MAX_FRAMES: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .describe('Of those, the most one client may hold; beyond, `429 too_many_inflight`. Unset: max(1, floor(`INFLIGHT_MAX_FRAMES` / 4)).'),
  PREDICT_UPLOAD_TIMEOUT_SECONDS: z.coerce
    .number()
    .positive()
    .default(10)
    .describe('A `/predict` upload must arrive within this of its admission; a slower one is `408 request_timeout`.'),
  HTTP_HEADERS_TIMEOUT_SECONDS: z.coerce.number().positive().default(10).describe("Node's deadline for a request's headers."),
  HTTP_REQUEST_TIMEOUT_SECONDS: z.coerce
    .number()
    .positive()
    .default(30)
    .describe("Node's deadline for a whole request; at least `HTTP_HEADERS_TIMEOUT_SECONDS`."),
  PREDICT_BATCH_MAX_FRAMES: z.coerce
    .number()
    .int()
    .positive()
    .default(PREDICT_BATCH_DEFAULTS.maxItems)
    .describe('Most frames of one model version predicted by one call (micro-batching).'),
  PREDICT_BATCH_WINDOW_MS: z.coerce
    .number()
    .min(0)
    .max(1000)
    .default(PREDICT_BATCH_DEFAULTS.windowMs)
    .describe(
      'How long a micro-batch gathers frames after its first one (0..1000 ms), while frames come within this of each other; a lone frame never waits.',
    ),
  PREDICT_GRAPH: z
    .enum(['0', '1'])
    .default('1')
    .describe('1: models serve as frozen TensorFlow graphs where they can (`core/ml/fastPredict.ts`); 0: as layers models.'),
  MODEL_CACHE_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 ** 3)
    .describe(
      'Bytes of model weights the API keeps loaded (1 GiB); beyond, the least recently used version goes, never the one serving `latest`.',
    ),
  MODEL_CACHE_IDLE_SECONDS: z.coerce.number().positive().default(600).describe('A loaded version no frame used for this long is unloaded.'),
  OVERLOAD_EVENT_LOOP_DELAY_MS: z.coerce
    .number()
    .positive()
    .default(200)
    .describe(
      '`/predict` refuses new frames (`503 overloaded`) while the event loop runs later than this (median of two 250 ms samples in a row).',
    ),
  // Defaults as core/features/imageGate.ts's DEFAULT_IMAGE_LIMITS; at most its DECODE_PIXEL_LIMIT (4096 x 4096).
  IMAGE_MAX_WIDTH: z.coerce
    .number()
    .int()
    .positive()
    .max(4096)
    .default(1280)
    .describe('Widest frame `/predict` decodes, from its header (`413 image_too_large` beyond; at most 4096).'),
  IMAGE_MAX_HEIGHT: z.coerce.number().int().positive().max(4096).default(1280).describe('Highest frame `/predict` decodes (at most 4096).'),
  IMAGE_MAX_PIXELS: z.coerce
    .number()
    .int()
    .positive()
    .max(4096 * 4096)
    .default(1280 * 960)
    .describe('Most pixels of a frame `/predict` decodes (1280x960; at most 4096x4096).'),
  IMAGE_MAX_ASPECT_RATIO: z.coerce
    .number()
    .min(1)
    .default(8)
    .describe('Sides of a frame may differ by at most this factor (`422 image_aspect_ratio` beyond).'),
  REGISTRY_CACHE_TTL_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(5000)
    .describe(
      "How long `/predict` trusts its cached client and deployment lookups; other processes' changes take effect within it; a canary stage's rovers move 1 s after it.",
    ),
  MONITOR_RESYNC_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(600)
    .describe(
      "How often each API makes every drift monitor's schedule match the registry again: a change whose API stopped before syncing it.",
    ),
  IDEMPOTENCY_KEY_TTL_HOURS: z.coerce
    .number()
    .positive()
    .default(24)
    .describe(
      "How long `/predict` keeps a frame's `Idempotency-Key` and its answer: a repeat within it is answered again, not stored again.",
    ),
  FRAME_MAX_AGE_HOURS: z.coerce
    .number()
    .positive()
    .default(168)
    .describe('Oldest frame `/predict` takes by its `frame_age_ms` (7 days); older is `400 frame_too_old`.'),
  SWEEP_PARALLELISM: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .describe('Trials a training worker runs at once. Unset: floor(cores / `ML_THREADS_PER_TRIAL`).'),
  ML_THREADS_PER_TRIAL: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .describe('TensorFlow intra-op threads per trial. Unset: 1, or the cores shared among `SWEEP_PARALLELISM` trials.'),
  ML_BACKEND: z
    .enum(['auto', 'tensorflow', 'cpu'])
    .default('auto')
    .describe(
      '`auto`: native TensorFlow where it loads, else pure JS; `tensorflow`: native or fail to start; `cpu`: pure JS (and training pixels from sharp, preprocessing version 1, instead of the JPEG graph).',
    ),
  TRAIN_GRAPH: z
    .enum(['0', '1'])
    .default('1')
    .describe("1: trials train in a TensorFlow graph (`core/ml/graphTraining.ts`); 0: with tfjs's `model.fit`."),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe(
      'pino log level of every process (API, workers, training processes): `trace`, `debug`, `info`, `warn`, `error`, `fatal` or `silent`.',
    ),
  WORKER_METRICS_ADDRESS: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9464')
    .optional()
    .describe("host:port where a worker serves Temporal's SDK metrics for Prometheus (`/metrics`). Unset: no endpoint."),
  MIGRATION_LOCK_TIMEOUT_SECONDS: z.coerce
    .number()
    .positive()
    .default(120)
    .describe(
      "How long a process waits while another one migrates the same SQL database (MySQL: a `GET_LOCK`; SQLite: knex's migration lock or the write lock).",
    ),
});

/** Node refuses a server whose headers deadline is beyond its request deadline. */
const checkedEnvSchema = envSchema.refine((e) => e.HTTP_HEADERS_TIMEOUT_SECONDS <= e.HTTP_REQUEST_TIMEOUT_SECONDS, {
  path: ['HTTP_HEADERS_TIMEOUT_SECONDS'],
  message: 'must not exceed HTTP_REQUEST_TIMEOUT_SECONDS (a request cannot be received before its headers are)',
});

export interface Config {
  dataDir: string;
  registryUrl: string;
  measurementsUrl: string;
  objectsUrl: string;
  /** `devServer`: no TEMPORAL_ADDRESS was given, so `npm start` runs Temporal's dev server at `address`. */
  temporal: { address: string; devServer: boolean; namespace: string; uiPort: number; uiUrl: string };
  api: {
    port: number;
    host: string;
    adminToken: string;
    webhookToken: string;
    maxImageBytes: number;
    analysisQueueLimit: number;
    /** Deadline of each `/readyz` check. */
    readyCheckTimeoutSeconds: number;
    /** After SIGTERM, how long the spool is stored before the process exits with what is left. */
    shutdownDrainSeconds?: number;
    /** JSON bodies nested deeper, or with more keys and array items, are refused before any route. */
    jsonMaxDepth: number;
    jsonMaxKeys: number;
    /** Image bytes the analysis holds in memory; beyond, frames wait in the spool on disk only. */
    analysisQueueMaxBytes?: number;
    /** Bytes of the write-ahead spool on disk; when full, /predict answers 503 spool_full. */
    spoolMaxBytes?: number;
    /** Bytes of /predict uploads received at once; beyond, 503 overloaded. */
    inflightMaxBytes?: number;
    /** Frames /predict handles at once (from the upload's start to its answer); beyond, 503 overloaded. */
    inflightMaxFrames?: number;
    /** Of those, the frames one client may hold (default max(1, floor(inflightMaxFrames / 4))); beyond, 429 too_many_inflight. */
    inflightClientMaxFrames?: number;
    /** A /predict upload must arrive within this from its admission; beyond, 408 request_timeout and its slot is freed. */
    uploadTimeoutSeconds?: number;
    /** Node's deadlines for every request: its headers, and the whole request (headers and body). */
    http?: { headersTimeoutSeconds: number; requestTimeoutSeconds: number };
    /** Frames of one model version predicted by one call: up to `maxItems`, gathered for `windowMs` after the first. */
    predictBatch?: { maxItems: number; windowMs: number };
    /** Nice value the event loop asks for at start (Linux); undefined: unchanged. */
    eventLoopNice?: number;
    /** Nice levels the inference thread and the analysis threads run below the event loop (Linux). */
    workThreadsNice?: number;
    /** Models run as frozen TensorFlow graphs where the backend can; false runs the layers models. */
    predictGraph?: boolean;
    /** Bytes of model weights the API keeps loaded (least recently used leave first; what serves `latest` stays). */
    modelCacheMaxBytes?: number;
    /** A loaded model version no frame used for this long is unloaded. */
    modelCacheIdleSeconds?: number;
    /** /predict refuses new frames with 503 while the event loop runs later than this (median of 250 ms). */
    overloadDelayMs?: number;
    imageLimits?: ImageLimits;
    /** How long client and deployment lookups of /predict are trusted before the registry is asked again. */
    registryCacheTtlMs?: number;
    /** How often every drift monitor's schedule is made to match the registry again (default 10 minutes). */
    monitorResyncSeconds?: number;
    /** How long a frame's Idempotency-Key and its answer are kept (default 24 h). */
    idempotencyKeyTtlHours?: number;
    /** Oldest frame /predict takes by its frame_age_ms (default 7 days); older is 400 frame_too_old. */
    frameMaxAgeHours?: number;
  };
  /** Trials a training worker runs at once; unset: floor(cores / threads per trial). */
  sweepParallelism?: number;
  /** TensorFlow intra-op threads per trial; unset: 1, or the cores shared among SWEEP_PARALLELISM trials. */
  mlThreadsPerTrial?: number;
  mlBackend: 'auto' | 'tensorflow' | 'cpu';
  /** Trials train in a TensorFlow graph where the backend and the architecture allow; false trains with tfjs's fit. */
  trainGraph: boolean;
  logLevel: string;
  /** host:port of a worker's Prometheus endpoint (Temporal SDK metrics at /metrics); unset: none. */
  workerMetricsAddress?: string;
  /** How long a process waits for another one migrating the same SQL database. */
  migrationLockTimeoutSeconds: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // docker compose passes an unset `${NAME}` as an empty string: treat it as unset.
  const parsed = checkedEnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    dataDir,
    registryUrl: e.REGISTRY_URL ?? `sqlite:${path.join(dataDir, 'registry.db')}`,
    measurementsUrl: e.MEASUREMENTS_URL ?? `sqlite:${path.join(dataDir, 'measurements.db')}`,
    objectsUrl: e.OBJECTS_URL ?? `file:${path.join(dataDir, 'objects')}`,
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? 'localhost:7233',
      devServer: e.TEMPORAL_ADDRESS === undefined,
      namespace: e.TEMPORAL_NAMESPACE,
      uiPort: e.TEMPORAL_UI_PORT,
      uiUrl: e.TEMPORAL_UI_URL ?? `http://localhost:${e.TEMPORAL_UI_PORT}`,
    },
    api: {
      port: e.API_PORT,
      host: e.API_HOST,
      adminToken: e.ADMIN_TOKEN,
      webhookToken: e.WEBHOOK_TOKEN,
      maxImageBytes: e.MAX_IMAGE_BYTES,
      analysisQueueLimit: e.ANALYSIS_QUEUE_LIMIT,
      readyCheckTimeoutSeconds: e.READY_CHECK_TIMEOUT_SECONDS,
      shutdownDrainSeconds: e.SHUTDOWN_DRAIN_SECONDS,
      jsonMaxDepth: e.JSON_MAX_DEPTH,
      jsonMaxKeys: e.JSON_MAX_KEYS,
      analysisQueueMaxBytes: e.ANALYSIS_QUEUE_MAX_BYTES,
      spoolMaxBytes: e.SPOOL_MAX_BYTES,
      inflightMaxBytes: e.INFLIGHT_MAX_BYTES,
      inflightMaxFrames: e.INFLIGHT_MAX_FRAMES,
      inflightClientMaxFrames: e.INFLIGHT_CLIENT_MAX_FRAMES,
      uploadTimeoutSeconds: e.PREDICT_UPLOAD_TIMEOUT_SECONDS,
      http: { headersTimeoutSeconds: e.HTTP_HEADERS_TIMEOUT_SECONDS, requestTimeoutSeconds: e.HTTP_REQUEST_TIMEOUT_SECONDS },
      predictBatch: { maxItems: e.PREDICT_BATCH_MAX_FRAMES, windowMs: e.PREDICT_BATCH_WINDOW_MS },
      eventLoopNice: e.EVENT_LOOP_NICE,
      workThreadsNice: e.WORK_THREADS_NICE,
      predictGraph: e.PREDICT_GRAPH === '1',
      modelCacheMaxBytes: e.MODEL_CACHE_MAX_BYTES,
      modelCacheIdleSeconds: e.MODEL_CACHE_IDLE_SECONDS,
      overloadDelayMs: e.OVERLOAD_EVENT_LOOP_DELAY_MS,
      imageLimits: {
        maxWidth: e.IMAGE_MAX_WIDTH,
        maxHeight: e.IMAGE_MAX_HEIGHT,
        maxPixels: e.IMAGE_MAX_PIXELS,
        maxAspectRatio: e.IMAGE_MAX_ASPECT_RATIO,
      },
      registryCacheTtlMs: e.REGISTRY_CACHE_TTL_MS,
      monitorResyncSeconds: e.MONITOR_RESYNC_SECONDS,
      idempotencyKeyTtlHours: e.IDEMPOTENCY_KEY_TTL_HOURS,
      frameMaxAgeHours: e.FRAME_MAX_AGE_HOURS,
    },
    sweepParallelism: e.SWEEP_PARALLELISM,
    mlThreadsPerTrial: e.ML_THREADS_PER_TRIAL,
    mlBackend: e.ML_BACKEND,
    trainGraph: e.TRAIN_GRAPH === '1',
    logLevel: e.LOG_LEVEL,
    workerMetricsAddress: e.WORKER_METRICS_ADDRESS,
    migrationLockTimeoutSeconds: e.MIGRATION_LOCK_TIMEOUT_SECONDS,
  };
}
