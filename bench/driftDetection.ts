/**
 * Detection and false alarms of the drift check on simulated deployments: model versions trained
 * as a retrain would (the compact CNN on the frames of the phases so far), their reference profiles
 * (referenceProfileOf over the version's dataset, its errors on the test split), and a phase's frames
 * fed to checkDrift as the monitor would read them, check by check.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { checkDrift as checkRawWindow, checkDriftOfSummary, type DriftWindow } from '../core/drift/driftCheck.js';
import { summaryOfWindow } from '../core/drift/windowSummary.js';
import type { DriftReport } from '../core/drift/driftReport.js';
import type { MonitorConfig } from '../core/drift/monitorConfig.js';
import { referenceProfileOf, type ReferenceProfile } from '../core/drift/referenceProfile.js';
import { IMAGE_CHARACTERISTIC_FIELDS } from '../core/features/fields.js';
import { loadBackend } from '../core/ml/backend.js';
import { seededPermutation, type Split } from '../core/ml/dataset.js';
import type { InputSize } from '../core/ml/imagePixels.js';
import { clipLabel } from '../core/ml/labels.js';
import { pixelsToTensor, predictMm, trainModel } from '../core/ml/train.js';
import { FRAME_INTERVAL_MS } from '../edge/speedTiers.js';
import { labelledOf, type AnalysedFrame } from './driftFrames.js';

export const LABEL_MAX_MM = 350;
const TEST_FRACTION = 0.2;

export interface ModelPlan {
  input: InputSize;
  epochs: number;
  seed: number;
}

/** A registered version as the monitor sees it: its reference profile, and a model that answers frames. */
export interface BenchVersion {
  name: string;
  presets: string[];
  profile: ReferenceProfile;
  model: LayersModel;
  trainFrames: number;
  testMaeMm: number;
  trainSeconds: number;
}

function splitOf(frames: (AnalysedFrame & { sensorMm: number })[], frameBytes: number): Split {
  const pixels = new Uint8Array(frames.length * frameBytes);
  frames.forEach((f, i) => pixels.set(f.pixels, i * frameBytes));
  return { pixels, labelsMm: Float32Array.from(frames, (f) => f.sensorMm), count: frames.length };
}

/** The version a retrain on these frames would register: 80/20 split, compact CNN, profile over the whole dataset. */
export async function trainVersion(name: string, presets: string[], dataset: AnalysedFrame[], plan: ModelPlan): Promise<BenchVersion> {
  const started = performance.now();
  const { tf } = await loadBackend('auto');
  const rows = labelledOf(dataset);
  const order = seededPermutation(rows.length, plan.seed);
  const testCount = Math.round(rows.length * TEST_FRACTION);
  const test = order.slice(0, testCount).map((i) => rows[i]);
  const train = order.slice(testCount).map((i) => rows[i]);
  const frameBytes = plan.input.width * plan.input.height * 3;
  const { model, metrics } = await trainModel(tf, {
    architecture: 'compact',
    ...plan.input,
    labelMaxMm: LABEL_MAX_MM,
    seed: plan.seed,
    train: splitOf(train, frameBytes),
    test: splitOf(test, frameBytes),
    params: { epochs: plan.epochs, batchSize: 32, dropout: 0.1, learningRate: 0.002 },
  });
  const predicted = await predictionsOf(model, test, plan.input);
  const testErrorsMm = Array.from(predicted, (p, i) => Math.abs(p - clipLabel(test[i].sensorMm, LABEL_MAX_MM)));
  const profile = referenceProfileOf({
    modelName: 'bench-drift',
    version: Number(name.slice(1)) || 0,
    source: { manifestKey: `bench/${name}`, workflowId: 'bench', runId: name },
    rows: rows.map((r) => ({ sensorValue: r.sensorMm, characteristics: r.characteristics })),
    labelMaxMm: LABEL_MAX_MM,
    testErrorsMm,
  });
  return {
    name,
    presets,
    profile,
    model,
    trainFrames: train.length,
    testMaeMm: metrics.test_mae_mm,
    trainSeconds: (performance.now() - started) / 1000,
  };
}

/** The version's answers (mm) to the frames, in their order. */
export async function predictionsOf(model: LayersModel, frames: AnalysedFrame[], input: InputSize): Promise<Float32Array> {
  const { tf } = await loadBackend('auto');
  const frameBytes = input.width * input.height * 3;
  const pixels = new Uint8Array(frames.length * frameBytes);
  frames.forEach((f, i) => pixels.set(f.pixels, i * frameBytes));
  const x = pixelsToTensor(tf, pixels, frames.length, input.height, input.width);
  try {
    return await predictMm(tf, model, x, LABEL_MAX_MM);
  } finally {
    x.dispose();
  }
}

/** A deployment's frames as the store would hold them: each with the serving version's answer. */
export interface AnsweredStream {
  frames: AnalysedFrame[];
  predictions: Float32Array;
}

/** The drift window of some frames of a stream (the store's driftWindow, without the store). */
export function windowOf(stream: AnsweredStream, indices: ArrayLike<number>, startSeconds: number, endSeconds: number): DriftWindow {
  const n = indices.length;
  const features: DriftWindow['features'] = {};
  for (const field of IMAGE_CHARACTERISTIC_FIELDS) {
    const values = new Float64Array(n);
    for (let k = 0; k < n; k++) values[k] = stream.frames[indices[k]].characteristics[field];
    features[field] = values;
  }
  const labels: number[] = [];
  const errors: number[] = [];
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    const sensor = stream.frames[i].sensorMm;
    if (sensor === null) continue;
    labels.push(sensor);
    errors.push(Math.abs(stream.predictions[i] - sensor));
  }
  return {
    frames: n,
    windowStart: n ? startSeconds * 1000 : null,
    windowEnd: n ? endSeconds * 1000 : null,
    features,
    labels: Float64Array.from(labels),
    errors: Float64Array.from(errors),
  };
}

const range = (from: number, to: number) => Int32Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
const FRAMES_PER_SECOND = 1000 / FRAME_INTERVAL_MS;

/** Checks whose raw window and summary path disagreed on the verdict or the kinds (the benchmark reports it; 0 expected). */
export const pathAgreement = { checks: 0, disagreements: [] as string[] };

/**
 * A check as the monitor runs it: on the window's counts over the reference grid (core/drift/windowSummary.ts).
 * The raw window's check runs beside it and any difference in verdict or kinds is recorded.
 */
function checkDrift(profile: ReferenceProfile, window: DriftWindow, config: MonitorConfig): DriftReport {
  const summary = checkDriftOfSummary(profile, summaryOfWindow(profile, window), config);
  const raw = checkRawWindow(profile, window, config);
  pathAgreement.checks++;
  if (raw.verdict !== summary.verdict || raw.kinds.join() !== summary.kinds.join())
    pathAgreement.disagreements.push(
      `${profile.version}: raw ${raw.verdict} [${raw.kinds}] vs summary ${summary.verdict} [${summary.kinds}] (${window.frames} frames)`,
    );
  return summary;
}

/**
 * The fewest frames of the phase, in one rover's arrival order, after which a check finds drift
 * (tried every `step` frames from the config's minimum), with the report of that check.
 */
export function framesToDetect(profile: ReferenceProfile, stream: AnsweredStream, config: MonitorConfig, step: number) {
  for (let n = config.minFrames; n <= stream.frames.length; n += step) {
    const report = checkDrift(profile, windowOf(stream, range(0, n), 0, n / FRAMES_PER_SECOND), config);
    if (report.verdict === 'drift') return { frames: n, report };
  }
  return null;
}

export interface ScheduledDetection {
  /** Seconds from the phase's first frame to the check that found drift. */
  seconds: number;
  /** Frames of the phase stored by then, and in that check's window. */
  framesArrived: number;
  windowFrames: number;
  /** Distinct frames of the recording in that window (fewer than windowFrames when the rovers reuse them). */
  distinctFrames: number;
  report: DriftReport;
}

/**
 * `rovers` rovers at 4 frames/s drive the recording's parking runs (rover r takes runs r, r + rovers, ...,
 * starting over when the recording runs out) from the moment the phase starts, right after a check; the
 * schedule checks every `intervalSeconds` the newest frames of the last `windowMinutes` (at most
 * `windowMaxFrames`), as activities/checkDeploymentDrift.ts reads them. Returns the first check that finds
 * drift, or null when none does within `horizonSeconds`.
 */
export function scheduledDetection(
  profile: ReferenceProfile,
  stream: AnsweredStream,
  config: MonitorConfig,
  rovers: number,
  horizonSeconds: number,
): ScheduledDetection | null {
  const runs: number[][] = [];
  stream.frames.forEach((f, i) => (runs[f.run] ??= []).push(i));
  const framesPerRover = Math.ceil(horizonSeconds * FRAMES_PER_SECOND);
  const roverFrames = Array.from({ length: rovers }, (_, r) => {
    const sequence: number[] = [];
    for (let run = r; sequence.length < framesPerRover; run += rovers) sequence.push(...runs[run % runs.length]);
    return sequence.slice(0, framesPerRover);
  });
  for (let t = config.intervalSeconds; t <= horizonSeconds; t += config.intervalSeconds) {
    const arrived = Math.floor(t * FRAMES_PER_SECOND);
    const from = Math.max(0, Math.floor((t - config.windowMinutes * 60) * FRAMES_PER_SECOND));
    // Newest first across rovers, so the frame bound keeps the newest.
    const indices: number[] = [];
    for (let k = arrived - 1; k >= from && indices.length < config.windowMaxFrames; k--)
      for (const sequence of roverFrames) if (indices.length < config.windowMaxFrames) indices.push(sequence[k]);
    const report = checkDrift(profile, windowOf(stream, indices, from / FRAMES_PER_SECOND, t), config);
    if (report.verdict === 'drift')
      return { seconds: t, framesArrived: arrived * rovers, windowFrames: indices.length, distinctFrames: new Set(indices).size, report };
  }
  return null;
}

export interface FalseAlarmResult {
  windowFrames: number;
  windows: number;
  /** Frames the windows were taken from, and how far neighbouring windows overlap. */
  poolFrames: number;
  overlap: number;
  falseAlarms: number;
  firedBy: Record<string, number>;
  largestWasserstein: number;
  largestWassersteinFeature: string;
  largestOutsideShare: number;
  largestOutsideFeature: string;
}

/** `windows` windows of `size` consecutive frames, evenly spaced over the stream, each checked against the profile. */
export function falseAlarms(
  profile: ReferenceProfile,
  stream: AnsweredStream,
  config: MonitorConfig,
  size: number,
  windows: number,
): FalseAlarmResult {
  const n = stream.frames.length;
  const step = windows > 1 ? (n - size) / (windows - 1) : 0;
  const result: FalseAlarmResult = {
    windowFrames: size,
    windows,
    poolFrames: n,
    overlap: Math.max(0, 1 - step / size),
    falseAlarms: 0,
    firedBy: {},
    largestWasserstein: 0,
    largestWassersteinFeature: '-',
    largestOutsideShare: 0,
    largestOutsideFeature: '-',
  };
  for (let w = 0; w < windows; w++) {
    const from = Math.round(w * step);
    const report = checkDrift(
      profile,
      windowOf(stream, range(from, from + size), from / FRAMES_PER_SECOND, (from + size) / FRAMES_PER_SECOND),
      config,
    );
    if (report.verdict === 'drift') {
      result.falseAlarms++;
      for (const kind of report.kinds) result.firedBy[kind] = (result.firedBy[kind] ?? 0) + 1;
    }
    for (const [field, evidence] of Object.entries(report.covariate?.features ?? {})) {
      if (evidence.wasserstein > result.largestWasserstein)
        [result.largestWasserstein, result.largestWassersteinFeature] = [evidence.wasserstein, field];
      if (evidence.outsideShare > result.largestOutsideShare)
        [result.largestOutsideShare, result.largestOutsideFeature] = [evidence.outsideShare, field];
    }
  }
  return result;
}

/** What decided a drift report, in a few words per kind that fired. */
export function decidingStatistic(report: DriftReport): string {
  const parts: string[] = [];
  const p = report.performance;
  if (p?.drifted)
    parts.push(
      `error ${p.liveMeanErrorMm.toFixed(1)} vs ${p.referenceMeanErrorMm.toFixed(1)} mm (x${p.errorRatio.toFixed(1)}, p ${p.pValue.toExponential(0)})`,
    );
  const l = report.label;
  if (l?.drifted) parts.push(`labels ${(l.outOfRangeShare * 100).toFixed(0)}% beyond trained range, W ${l.wasserstein.toFixed(2)} sd`);
  const c = report.covariate;
  if (c?.drifted) {
    // A feature that never varied in the reference has an infinite Wasserstein: name the largest finite one.
    const finiteFirst = (w: number) => (Number.isFinite(w) ? w : -1);
    const [field, strongest] = Object.entries(c.features)
      .filter(([, e]) => e.drifted)
      .sort(([, a], [, b]) => finiteFirst(b.wasserstein) - finiteFirst(a.wasserstein))[0];
    parts.push(
      `${c.driftedFeatures.length}/${c.testedFeatures} features, strongest ${field} W ${strongest.wasserstein === Infinity ? 'inf' : strongest.wasserstein.toFixed(1)} sd, ${(strongest.outsideShare * 100).toFixed(0)}% outside`,
    );
  }
  return parts.join('; ');
}
