import path from 'node:path';
import { z } from 'zod';
import type { ImageLimits } from './features/imageGate.js';

/** Development defaults of the API's secrets: only ever accepted on a loopback API_HOST (api/exposure.ts). */
export const DEV_ADMIN_TOKEN = 'dev-admin-token';
export const DEV_WEBHOOK_TOKEN = 'dev-webhook-token';

/**
 * Every setting of every process, read from the environment once and validated.
 * Store URLs follow MLflow's convention: the scheme picks the implementation.
 */
const envSchema = z.object({
  DATA_DIR: z.string().default('./data'),
  REGISTRY_URL: z.string().optional(),
  MEASUREMENTS_URL: z.string().optional(),
  OBJECTS_URL: z.string().optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_UI_PORT: z.coerce.number().int().default(8233),
  TEMPORAL_UI_URL: z.string().optional(),
  API_PORT: z.coerce.number().int().default(3000),
  API_HOST: z.string().default('127.0.0.1'),
  ADMIN_TOKEN: z.string().min(8).default(DEV_ADMIN_TOKEN),
  WEBHOOK_TOKEN: z.string().min(8).default(DEV_WEBHOOK_TOKEN),
  MAX_IMAGE_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(2 * 1024 * 1024),
  ANALYSIS_QUEUE_LIMIT: z.coerce.number().int().positive().default(1000),
  READY_CHECK_TIMEOUT_SECONDS: z.coerce.number().positive().default(2),
  JSON_MAX_DEPTH: z.coerce.number().int().positive().default(32),
  JSON_MAX_KEYS: z.coerce.number().int().positive().default(50_000),
  ANALYSIS_QUEUE_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024),
  SPOOL_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 ** 3),
  INFLIGHT_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024),
  INFLIGHT_MAX_FRAMES: z.coerce.number().int().positive().default(32),
  INFLIGHT_CLIENT_MAX_FRAMES: z.coerce.number().int().positive().optional(),
  PREDICT_UPLOAD_TIMEOUT_SECONDS: z.coerce.number().positive().default(10),
  HTTP_HEADERS_TIMEOUT_SECONDS: z.coerce.number().positive().default(10),
  HTTP_REQUEST_TIMEOUT_SECONDS: z.coerce.number().positive().default(30),
  PREDICT_BATCH_MAX_FRAMES: z.coerce.number().int().positive().default(16),
  PREDICT_BATCH_WINDOW_MS: z.coerce.number().min(0).max(1000).default(2),
  PREDICT_GRAPH: z.enum(['0', '1']).default('1'),
  MODEL_CACHE_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 ** 3),
  MODEL_CACHE_IDLE_SECONDS: z.coerce.number().positive().default(600),
  OVERLOAD_EVENT_LOOP_DELAY_MS: z.coerce.number().positive().default(200),
  // Defaults as core/features/imageGate.ts's DEFAULT_IMAGE_LIMITS; at most its DECODE_PIXEL_LIMIT (4096 x 4096).
  IMAGE_MAX_WIDTH: z.coerce.number().int().positive().max(4096).default(1280),
  IMAGE_MAX_HEIGHT: z.coerce.number().int().positive().max(4096).default(1280),
  IMAGE_MAX_PIXELS: z.coerce
    .number()
    .int()
    .positive()
    .max(4096 * 4096)
    .default(1280 * 960),
  IMAGE_MAX_ASPECT_RATIO: z.coerce.number().min(1).default(8),
  REGISTRY_CACHE_TTL_MS: z.coerce.number().int().min(0).default(5000),
  SWEEP_PARALLELISM: z.coerce.number().int().positive().optional(),
  ML_THREADS_PER_TRIAL: z.coerce.number().int().positive().optional(),
  ML_BACKEND: z.enum(['auto', 'tensorflow', 'cpu']).default('auto'),
  TRAIN_GRAPH: z.enum(['0', '1']).default('1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WORKER_METRICS_ADDRESS: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9464')
    .optional(),
  MIGRATION_LOCK_TIMEOUT_SECONDS: z.coerce.number().positive().default(120),
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
