import type { RetrainStagesPlan } from './retrainStages.js';
import { z } from 'zod';
import type { RolloutPolicyInput } from '../core/rollout/rolloutPolicy.js';
import type { DatasetPipelinePlan } from './datasetPipeline.js';
import type { RoverClientKind } from './frameSender.js';
import type { SensorHealthBenchSettings } from './sensorHealth.js';
import type { StoreWritePlan } from './storeWrites.js';

/**
 * Benchmark knobs, read once from the environment. BENCH_QUICK=1 shrinks every default
 * to a smoke run of a few minutes; an explicit variable still wins over the quick default.
 */
const list = (values: string) => values.split(',').map((v) => Number(v.trim()));
const positiveList = z.string().transform(list).pipe(z.array(z.number().int().positive()).min(1));

const envSchema = z.object({
  BENCH_QUICK: z.enum(['0', '1']).default('0'),
  BENCH_ONLY: z.string().optional(),
  BENCH_FRAMES: z.coerce.number().int().min(20).optional(),
  BENCH_EPOCHS: z.coerce.number().int().positive().optional(),
  BENCH_THROUGHPUT_EPOCHS: z.coerce.number().int().min(2).optional(),
  BENCH_BATCH_SIZE: z.coerce.number().int().positive().optional(),
  BENCH_JS_BATCHES: z.coerce.number().int().positive().optional(),
  BENCH_JS_BATCH_SIZE: z.coerce.number().int().positive().optional(),
  BENCH_ROVERS: positiveList.optional(),
  BENCH_PREDICT_REQUESTS: z.coerce.number().int().positive().optional(),
  BENCH_ROLLOUT_EPOCHS: z.coerce.number().int().positive().optional(),
  BENCH_ROLLOUT_ROUNDS: z.coerce.number().int().positive().optional(),
  BENCH_ROLLOUT_CANARY_EVERY: z.coerce.number().int().min(0).optional(),
  BENCH_ROLLOUT_PROMOTION_ROVERS: z.coerce.number().int().min(0).optional(),
  BENCH_ROLLOUT_CONSTANT_MM: z.coerce.number().gt(0).lt(350).optional(),
  BENCH_RESULTS_DIR: z.string().default('bench/results'),
  BENCH_DRIFT_REFERENCE_FRAMES: z.coerce.number().int().min(50).optional(),
  BENCH_DRIFT_STREAM_FRAMES: z.coerce.number().int().min(250).optional(),
  BENCH_DRIFT_EPOCHS: z.coerce.number().int().positive().optional(),
  BENCH_DRIFT_WINDOWS: z.coerce.number().int().min(2).optional(),
  BENCH_DRIFT_STORED: positiveList.optional(),
  BENCH_DRIFT_REPETITIONS: z.coerce.number().int().positive().optional(),
  BENCH_COST_REPETITIONS: z.coerce.number().int().min(5).optional(),
  BENCH_COST_STACK: z.enum(['0', '1']).default('1'),
  BENCH_PATHS_CALLS: z.coerce.number().int().min(8).optional(),
  BENCH_PATHS_ROUNDS: z.coerce.number().int().positive().optional(),
  BENCH_COST_THESIS: z.enum(['0', '1']).default('1'),
  BENCH_COST_FRAMES_PER_SECOND: z.coerce.number().int().positive().optional(),
  BENCH_COST_SECONDS: z.coerce.number().int().positive().optional(),
  BENCH_LOAD_SECONDS: z.coerce.number().int().positive().optional(),
  BENCH_LOAD_STEPS: positiveList.optional(),
  BENCH_LOAD_STEP_SECONDS: z.coerce.number().int().positive().optional(),
  BENCH_ROVER_CLIENT: z.enum(['http', 'rover-client']).default('http'),
  BENCH_BUSY: z.coerce.number().int().min(0).default(0),
  BENCH_OVERHEAD_REQUESTS: z.coerce.number().int().min(8).optional(),
  /** The production measurement store (InfluxDB) of `source .services/env`; without it only SQLite is measured. */
  PRODUCTION_MEASUREMENTS_URL: z.string().optional(),
  /** The production object store (S3); with PRODUCTION_MEASUREMENTS_URL, the dataset pipeline is also measured on them. */
  PRODUCTION_OBJECTS_URL: z.string().optional(),
  /** The production registry (MySQL/MariaDB); the store-writes part measures idempotency-key writes on it. */
  PRODUCTION_REGISTRY_URL: z.string().optional(),
  BENCH_STORE_RECORDS: z.coerce.number().int().positive().optional(),
  BENCH_STORE_CONCURRENCY: z.coerce.number().int().positive().optional(),
  BENCH_DATASET_RECORDS: positiveList.optional(),
  BENCH_DATASET_ALL_UP_TO: z.coerce.number().int().positive().optional(),
  BENCH_DATASET_SAMPLE: z.coerce.number().int().positive().optional(),
  BENCH_DATASET_STORES: z.enum(['embedded', 'production', 'both']).default('both'),
  BENCH_RETRAIN_FRAMES: positiveList.optional(),
  BENCH_RETRAIN_EPOCHS: z.coerce.number().int().positive().optional(),
  BENCH_RETRAIN_SEEDS: positiveList.optional(),
  /** JSON training-config fields added to every retrain's request (the switches under test). */
  BENCH_RETRAIN_CONFIG: z
    .string()
    .transform((text) => JSON.parse(text) as Record<string, unknown>)
    .optional(),
  /** JSON {"preset", "frames", "config"}: a second retrain on the same stores after that many labelled frames of a preset arrived. */
  BENCH_RETRAIN_SECOND: z
    .string()
    .transform((text) => JSON.parse(text) as { preset: string; frames: number; config?: Record<string, unknown> })
    .optional(),
  BENCH_SENSOR_SEEDS: z.coerce.number().int().positive().optional(),
  BENCH_SENSOR_MINUTES: z.coerce.number().int().min(5).optional(),
});

export const BENCH_PARTS = [
  'training',
  'stack',
  'rollout',
  'drift',
  'frame-cost',
  'predict-paths',
  'dataset-pipeline',
  'retrain',
  'sensor-health',
  'store-writes',
] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];

export interface ArchitectureUnderTest {
  architecture: 'compact' | 'thesis-inception';
  width: number;
  height: number;
}

export interface DriftBenchSettings {
  /** Labelled frames per preset a version trains on (and its reference profile covers). */
  referenceFrames: number;
  /** Labelled frames per preset of the deployment's stream (another seed): the phase's frames in arrival order. */
  streamFrames: number;
  epochs: number;
  input: { width: number; height: number };
  /** In-distribution windows per preset and size. */
  windows: number;
  /** A 5-minute window of one rover at 4 frames/s. */
  fullWindowFrames: number;
  /** Store sizes the cost of one check is measured at. */
  storedFrames: number[];
  costRepetitions: number;
  influxUrl?: string;
}

export interface RolloutBenchSettings {
  /** Epochs of the one trial that trains v1 (its weights do not change what a prediction costs). */
  epochs: number;
  /** Runs per mode and number of rovers, pooled; off and on take turns at going first. */
  rounds: number;
  /** In the canary stage every this-many-th rover is a canary client (4: rovers 4, 8, ...); 0 skips the canary stage. */
  canaryEvery: number;
  /** From registration to promotion, after the latency rounds; null skips it. */
  promotion: PromotionSettings | null;
}

export interface PromotionSettings {
  rovers: number;
  framesPerSecond: number;
  /** What the current version predicts for every frame, mm. */
  constantMm: number;
  /** The deployment's rollout policy, sized for a benchmark (docs/ROLLOUT.md's defaults take 15 minutes at least). */
  policy: RolloutPolicyInput;
  /** Rovers drive this long on the current version before the candidate is registered. */
  warmUpSeconds: number;
}

export interface OpenLoopLevel {
  rovers: number;
  seconds: number;
}

export interface FrameCostSettings {
  /** Labelled frames rendered (160x120 JPEGs, beige-350); every stage cycles through them. */
  frames: number;
  /** Timed calls per stage, after a few untimed ones; also the frames of the stack part's one-sender level. */
  repetitions: number;
  /** The thesis CNN at the thesis input; its weights stay untrained (a prediction costs the same). */
  input: { width: number; height: number };
  /** Whether the stack part runs (the API's CPU per frame and the open-loop table) after the in-process stages. */
  stack: boolean;
  /** Whether the stack part also runs every level against the thesis's predict path (bench/thesis_predict_server.py). */
  thesis: boolean;
  /** Whole-process CPU of the API: frames per second sent, for this long (open loop, 4 frames/s per rover). */
  cpuFramesPerSecond: number;
  cpuSeconds: number;
  /** The open-loop table: rovers at 4 frames/s each, for so many seconds. */
  openLoop: OpenLoopLevel[];
  /** Step rates (frames/s) of the search for the highest sustainable rate, each for stepSeconds. */
  steps: number[];
  stepSeconds: number;
  /** A rover gives up on an answer after this (the frame counts as timed out). */
  timeoutMs: number;
  /** How the bench's rovers send: prepared bodies over node:http keep-alive, or the edge's RoverClient (fetch, FormData per frame). */
  roverClient: RoverClientKind;
  /** bench/requestOverhead.ts: requests per rung (split over the rounds), sent this many at once. */
  requestOverhead: { requests: number; concurrency: number; rounds: number };
}

export interface PredictPathsSettings {
  /** Labelled frames rendered (160x120 JPEGs, beige-350); calls cycle through them and outputs are compared on all. */
  frames: number;
  /** Timed batch-1 calls per path and architecture (an eighth as many batches of 8), split over the rounds. */
  calls: number;
  /** The paths take turns this many times. */
  rounds: number;
  architectures: ArchitectureUnderTest[];
}

export interface BenchSettings {
  quick: boolean;
  /** CPU-burning processes run beside the whole bench (the reproducible busy machine); 0 for none. */
  busy: number;
  parts: BenchPart[];
  /** Labelled frames rendered by the edge simulator; the sweep trains on 80 % of them. */
  frames: number;
  testFraction: number;
  /** Epochs of every trial of the TrainAndRegister sweep. */
  sweepEpochs: number;
  sweep: { batchSizes: number[]; dropouts: number[] };
  /** The compact CNN at the demo's input, the thesis CNN at the thesis input. */
  architectures: ArchitectureUnderTest[];
  /** Native and Keras: epochs per measurement, the first one counted as warm-up. */
  throughputEpochs: number;
  throughputBatchSize: number;
  /** Pure JS is too slow for epochs: this many batches of jsBatchSize frames are timed. */
  jsBatches: number;
  jsBatchSize: number;
  rovers: number[];
  /** /predict requests per concurrency level (at least 10 per rover). */
  predictRequests: number;
  resultsDir: string;
  rollout: RolloutBenchSettings;
  drift: DriftBenchSettings;
  datasetPipeline: DatasetPipelinePlan;
  retrain: RetrainStagesPlan;
  frameCost: FrameCostSettings;
  predictPaths: PredictPathsSettings;
  sensorHealth: SensorHealthBenchSettings;
  storeWrites: StoreWritePlan;
}

export function loadBenchSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success)
    throw new Error(`invalid benchmark settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const e = parsed.data;
  const quick = e.BENCH_QUICK === '1';
  const parts = e.BENCH_ONLY ? e.BENCH_ONLY.split(',').map((p) => p.trim()) : [...BENCH_PARTS];
  const unknown = parts.filter((p) => !(BENCH_PARTS as readonly string[]).includes(p));
  if (unknown.length) throw new Error(`BENCH_ONLY: unknown part(s) ${unknown.join(', ')} (known: ${BENCH_PARTS.join(', ')})`);
  return {
    quick,
    busy: e.BENCH_BUSY,
    parts: parts as BenchPart[],
    frames: e.BENCH_FRAMES ?? (quick ? 200 : 1500),
    testFraction: 0.2,
    sweepEpochs: e.BENCH_EPOCHS ?? (quick ? 1 : 30),
    sweep: { batchSizes: [32, 64], dropouts: [0.1, 0.2] },
    architectures: [
      { architecture: 'compact', width: 64, height: 48 },
      { architecture: 'thesis-inception', width: 100, height: 75 },
    ],
    throughputEpochs: e.BENCH_THROUGHPUT_EPOCHS ?? (quick ? 2 : 6),
    throughputBatchSize: e.BENCH_BATCH_SIZE ?? 32,
    jsBatches: e.BENCH_JS_BATCHES ?? (quick ? 1 : 2),
    jsBatchSize: e.BENCH_JS_BATCH_SIZE ?? (quick ? 4 : 32),
    rovers: e.BENCH_ROVERS ?? [1, 8, 32],
    predictRequests: e.BENCH_PREDICT_REQUESTS ?? (quick ? 64 : 1200),
    resultsDir: e.BENCH_RESULTS_DIR,
    rollout: {
      epochs: e.BENCH_ROLLOUT_EPOCHS ?? (quick ? 1 : 3),
      rounds: e.BENCH_ROLLOUT_ROUNDS ?? 2,
      canaryEvery: e.BENCH_ROLLOUT_CANARY_EVERY ?? 4,
      promotion:
        e.BENCH_ROLLOUT_PROMOTION_ROVERS === 0
          ? null
          : {
              rovers: e.BENCH_ROLLOUT_PROMOTION_ROVERS ?? 8,
              framesPerSecond: 4,
              constantMm: e.BENCH_ROLLOUT_CONSTANT_MM ?? 175,
              policy: {
                canaryShare: 0.25,
                shadow: { minFrames: 200, minMinutes: 0, maxMinutes: 10 },
                canary: { minFrames: 200, minMinutes: 0, maxMinutes: 10 },
                checkSeconds: 5,
              },
              warmUpSeconds: 5,
            },
    },
    drift: {
      referenceFrames: e.BENCH_DRIFT_REFERENCE_FRAMES ?? (quick ? 120 : 400),
      streamFrames: e.BENCH_DRIFT_STREAM_FRAMES ?? (quick ? 260 : 2000),
      epochs: e.BENCH_DRIFT_EPOCHS ?? (quick ? 4 : 15),
      input: { width: 32, height: 24 },
      windows: e.BENCH_DRIFT_WINDOWS ?? (quick ? 4 : 20),
      fullWindowFrames: 5 * 60 * 4,
      storedFrames: e.BENCH_DRIFT_STORED ?? (quick ? [10_000] : [10_000, 1_000_000]),
      costRepetitions: e.BENCH_DRIFT_REPETITIONS ?? (quick ? 2 : 5),
      influxUrl: e.PRODUCTION_MEASUREMENTS_URL,
    },
    retrain: {
      frames: e.BENCH_RETRAIN_FRAMES ?? (quick ? [300] : [6_000, 60_000]),
      epochs: e.BENCH_RETRAIN_EPOCHS ?? (quick ? 1 : 15),
      seeds: e.BENCH_RETRAIN_SEEDS ?? [1],
      sweep: { batchSizes: [32, 64], dropouts: [0.1, 0.2] },
      config: e.BENCH_RETRAIN_CONFIG ?? {},
      second: e.BENCH_RETRAIN_SECOND && { ...e.BENCH_RETRAIN_SECOND, config: e.BENCH_RETRAIN_SECOND.config ?? {} },
    },
    datasetPipeline: {
      records: e.BENCH_DATASET_RECORDS ?? (quick ? [2_000] : [10_000, 100_000, 1_000_000]),
      newFraction: 0.1,
      allUpTo: e.BENCH_DATASET_ALL_UP_TO ?? 100_000,
      sample: e.BENCH_DATASET_SAMPLE ?? 50_000,
      deployments: 10,
      input: { width: 40, height: 30 },
      embedded: e.BENCH_DATASET_STORES !== 'production',
      production:
        e.BENCH_DATASET_STORES !== 'embedded' && e.PRODUCTION_MEASUREMENTS_URL && e.PRODUCTION_OBJECTS_URL
          ? { measurementsUrl: e.PRODUCTION_MEASUREMENTS_URL, objectsUrl: e.PRODUCTION_OBJECTS_URL }
          : undefined,
    },
    frameCost: {
      frames: quick ? 40 : 200,
      repetitions: e.BENCH_COST_REPETITIONS ?? (quick ? 20 : 200),
      input: { width: 100, height: 75 },
      stack: e.BENCH_COST_STACK === '1',
      thesis: e.BENCH_COST_THESIS === '1',
      cpuFramesPerSecond: e.BENCH_COST_FRAMES_PER_SECOND ?? 32,
      cpuSeconds: e.BENCH_COST_SECONDS ?? (quick ? 5 : 30),
      openLoop: [
        { rovers: 32, seconds: e.BENCH_LOAD_SECONDS ?? (quick ? 5 : 60) },
        { rovers: 64, seconds: Math.ceil((e.BENCH_LOAD_SECONDS ?? (quick ? 5 : 60)) / 2) },
      ],
      steps: e.BENCH_LOAD_STEPS ?? (quick ? [32, 64] : [32, 64, 96, 128]),
      stepSeconds: e.BENCH_LOAD_STEP_SECONDS ?? (quick ? 5 : 20),
      timeoutMs: 10_000,
      roverClient: e.BENCH_ROVER_CLIENT,
      requestOverhead: { requests: e.BENCH_OVERHEAD_REQUESTS ?? (quick ? 400 : 4000), concurrency: 8, rounds: quick ? 2 : 4 },
    },
    predictPaths: {
      frames: quick ? 40 : 200,
      calls: e.BENCH_PATHS_CALLS ?? (quick ? 40 : 400),
      rounds: e.BENCH_PATHS_ROUNDS ?? (quick ? 2 : 4),
      architectures: [
        { architecture: 'compact', width: 64, height: 48 },
        { architecture: 'thesis-inception', width: 100, height: 75 },
      ],
    },
    sensorHealth: {
      seeds: e.BENCH_SENSOR_SEEDS ?? (quick ? 1 : 5),
      healthyMinutes: e.BENCH_SENSOR_MINUTES ?? (quick ? 10 : 60),
      maxFaultFrames: quick ? 400 : 1200,
      costRovers: [3, 32],
    },
    storeWrites: {
      records: e.BENCH_STORE_RECORDS ?? (quick ? 2_000 : 50_000),
      recordBatch: 64,
      claims: quick ? 500 : 5_000,
      objects: quick ? 500 : 5_000,
      concurrency: e.BENCH_STORE_CONCURRENCY ?? 16,
      urls: { registry: e.PRODUCTION_REGISTRY_URL, measurements: e.PRODUCTION_MEASUREMENTS_URL, objects: e.PRODUCTION_OBJECTS_URL },
    },
  };
}
