/**
 * The parking-run driver: the rover reverses towards the wall at 4 frames/s with the thesis
 * speed tiers, renders each frame, reads the laser and hands both to `send` without waiting
 * for the answer. It steers by the laser, or by the latest prediction once one has arrived.
 */
import { LATERAL_RANGE_MM, renderFrame } from './camera.js';
import { laserRangeMm, type LaserOptions } from './laser.js';
import { faultyLaser, type LaserFault } from './laserFaults.js';
import { getPreset, type EnvironmentPreset } from './presets.js';
import { createRng } from '../core/random.js';
import { FRAME_INTERVAL_MS, speedTier, TIER_SPEED_MM_PER_S, type SpeedTier } from './speedTiers.js';

export interface EdgeFrame {
  jpeg: Buffer;
  /** Laser reading, null when it dropped out. */
  sensorMm: number | null;
  /** Ground truth: the distance along the rover's axis that the simulator rendered. */
  trueMm: number;
  index: number;
}

/** What `send` reports back; RoverClient's PredictResult fits this shape. */
export type SendOutcome = { ok: true; predictionMm: number } | { ok: false; code: string };

export interface ParkingRunOptions {
  preset: EnvironmentPreset | string;
  send: (frame: EdgeFrame) => Promise<SendOutcome>;
  seed?: number;
  /** Sleep to keep 4 frames/s of wall-clock time (default false: run as fast as answers allow). */
  realtime?: boolean;
  steerBy?: 'sensor' | 'prediction';
  /** Bound on sends in flight (default 4). */
  maxInFlight?: number;
  /** At the bound: wait for a slot, or drop the frame (default: drop when realtime, else wait). */
  onBackpressure?: 'wait' | 'drop';
  /** Overrides of the random start distance and approach angle. */
  startMm?: number;
  angleDeg?: number;
  /** Safety bound on the number of frames (default 400). */
  maxFrames?: number;
  laser?: LaserOptions;
  /** A laser fault for the whole run (edge/laserFaults.ts; `stuck` freezes at the run's first reading). */
  laserFault?: LaserFault;
  /** Called once per frame after the speed decision (progress, tests). */
  onFrame?: (result: FrameResult) => void;
}

export interface FrameResult {
  index: number;
  trueMm: number;
  sensorMm: number | null;
  /** What the speed decision after this frame was based on (odometry: an older laser reading moved forward). */
  steeredBy: 'sensor' | 'prediction' | 'odometry' | 'none';
  tier: SpeedTier;
  sent: boolean;
  predictionMm?: number;
  errorCode?: string;
  /** |prediction - laser| when both exist. */
  absErrorMm?: number;
}

export interface ParkingRunSummary {
  preset: string;
  seed: number;
  startMm: number;
  angleDeg: number;
  frames: number;
  sent: number;
  answered: number;
  /** Frames not sent because the in-flight bound was reached (drop policy). */
  skipped: number;
  errors: Record<string, number>;
  meanAbsErrorMm: number | null;
  maxAbsErrorMm: number | null;
  finalTrueMm: number;
  /** The rover touched the wall (possible when steering by bad predictions). */
  collided: boolean;
  results: FrameResult[];
}

interface Reading {
  index: number;
  mm: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function runParking(options: ParkingRunOptions): Promise<ParkingRunSummary> {
  const preset = typeof options.preset === 'string' ? getPreset(options.preset) : options.preset;
  const seed = options.seed ?? 1;
  const realtime = options.realtime ?? false;
  const steerBy = options.steerBy ?? 'sensor';
  const maxInFlight = Math.max(1, options.maxInFlight ?? 4);
  const backpressure = options.onBackpressure ?? (realtime ? 'drop' : 'wait');
  const maxFrames = options.maxFrames ?? 400;
  const rng = createRng(seed);
  const sensorRng = rng.fork();
  const cameraRng = rng.fork();
  // The fault's own randomness is seeded apart, so a healthy run reads exactly as before.
  const laser = faultyLaser(options.laserFault ?? null, options.laser, createRng(seed + 0.5));

  const startMm = options.startMm ?? rng.uniform(0.9, 1) * preset.maxStartMm;
  const angleDeg = options.angleDeg ?? rng.uniform(-1, 1) * preset.maxAngleDeg;
  const lateralMm = rng.uniform(-LATERAL_RANGE_MM, LATERAL_RANGE_MM);

  const results: FrameResult[] = [];
  const errors: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();
  /** Commanded travel so far, and at each frame: lets old readings be dead-reckoned forward. */
  let travelMm = 0;
  const travelAt: number[] = [];
  /** Freshest readings (by frame index); predictions arrive asynchronously. */
  const latest: { prediction: Reading | null; sensor: Reading | null } = { prediction: null, sensor: null };
  let trueMm = startMm;
  let collided = false;
  let skipped = 0;

  const dispatch = (frame: EdgeFrame, result: FrameResult) => {
    const task = (async () => {
      try {
        const outcome = await options.send(frame);
        if (outcome.ok) {
          result.predictionMm = outcome.predictionMm;
          if (frame.sensorMm !== null) result.absErrorMm = Math.abs(outcome.predictionMm - frame.sensorMm);
          if (!latest.prediction || frame.index > latest.prediction.index)
            latest.prediction = { index: frame.index, mm: outcome.predictionMm };
        } else {
          result.errorCode = outcome.code;
        }
      } catch {
        result.errorCode = 'send_failed';
      }
      if (result.errorCode) errors[result.errorCode] = (errors[result.errorCode] ?? 0) + 1;
    })();
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  };

  for (let index = 0; index < maxFrames; index++) {
    const tickStart = Date.now();
    const jpeg = await renderFrame(preset.scene, { distanceMm: trueMm, angleDeg, lateralMm }, cameraRng);
    const sensorMm = laser(laserRangeMm(trueMm, angleDeg), sensorRng);
    travelAt[index] = travelMm;
    if (sensorMm !== null) latest.sensor = { index, mm: sensorMm };
    const result: FrameResult = { index, trueMm, sensorMm, steeredBy: 'sensor', tier: 'slow', sent: false };
    results.push(result);

    if (inFlight.size >= maxInFlight && backpressure === 'wait') {
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    }
    if (inFlight.size < maxInFlight) {
      result.sent = true;
      dispatch({ jpeg, sensorMm, trueMm, index }, result);
    } else {
      skipped++;
    }

    // Decide the speed from the freshest reading, dead-reckoned to the present.
    let source: Reading | null = null;
    if (steerBy === 'prediction' && latest.prediction) {
      source = latest.prediction;
      result.steeredBy = 'prediction';
    } else if (latest.sensor) {
      source = latest.sensor;
      result.steeredBy = latest.sensor.index === index ? 'sensor' : 'odometry';
    } else {
      result.steeredBy = 'none';
    }
    // With nothing to go on yet, creep.
    result.tier = source ? speedTier(source.mm - (travelMm - travelAt[source.index])) : 'slower';
    options.onFrame?.(result);
    if (result.tier === 'stop') break;
    if (trueMm <= 0) {
      collided = true;
      break;
    }

    const stepMm = (TIER_SPEED_MM_PER_S[result.tier] * FRAME_INTERVAL_MS) / 1000;
    travelMm += stepMm;
    trueMm = Math.max(0, trueMm - stepMm * (1 + rng.gaussian(0, 0.05)));

    if (realtime) await sleep(Math.max(0, FRAME_INTERVAL_MS - (Date.now() - tickStart)));
    else await yieldToEventLoop();
  }
  await Promise.all(inFlight);

  const errs = results.flatMap((r) => (r.absErrorMm === undefined ? [] : [r.absErrorMm]));
  return {
    preset: preset.id,
    seed,
    startMm,
    angleDeg,
    frames: results.length,
    sent: results.filter((r) => r.sent).length,
    answered: results.filter((r) => r.predictionMm !== undefined).length,
    skipped,
    errors,
    meanAbsErrorMm: errs.length ? errs.reduce((a, b) => a + b, 0) / errs.length : null,
    maxAbsErrorMm: errs.length ? Math.max(...errs) : null,
    finalTrueMm: trueMm,
    collided,
    results,
  };
}
