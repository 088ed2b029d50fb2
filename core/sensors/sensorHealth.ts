/**
 * Sensor health: is a rover's laser still the ground truth? Per rover of one deployment, from the frames of a
 * recent window: readings outside the sensor's physical range or its error codes, stuck values, dropouts,
 * spikes, and a laser that disagrees with its deployment's other rovers on similar frames while theirs agree
 * with the model. A suspect rover's frames are kept but left out of training sets, drift and rollout evidence.
 *
 * Every detector looks for the newest stretch of the rover's frames where the fault shows (a suffix of the window),
 * so a fault that began a minute ago is not diluted by the healthy frames before it, and the stretch's first frame
 * is the fault's estimated onset (`since`). The tests over many stretches are Bonferroni-corrected.
 * Thresholds: the monitor config's `sensors` group (core/drift/monitorConfig.ts); docs/DRIFT_MONITOR.md#sensor-health.
 */
import { sensorHealthConfigSchema, type SensorHealthConfig } from '../drift/monitorConfig.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristicField } from '../features/fields.js';
import { LASER_MAX_MM, readingStatus } from './laserSpec.js';
import { binomialUpperTail, median, serialSignTest } from './signTests.js';

export type { SensorHealthConfig, SensorHealthConfigInput } from '../drift/monitorConfig.js';

/** What is wrong with a rover's laser. */
export type SensorFaultKind = 'invalid-readings' | 'stuck' | 'dropouts' | 'spikes' | 'disagrees-with-peers';

export const SENSOR_FAULT_KINDS: readonly SensorFaultKind[] = ['invalid-readings', 'stuck', 'dropouts', 'spikes', 'disagrees-with-peers'];

/** One frame as the health check reads it. */
export interface SensorFrame {
  /** Epoch ms. */
  time: number;
  client: string;
  modelVersion: number | null;
  /** The laser reading as the rover sent it (null: none sent), invalid readings included. */
  sensorValue: number | null;
  /** The answering version's prediction (mm). */
  prediction: number | null;
  /** A few image characteristics: frames of different rovers are compared on similar floors only. */
  features: Partial<Record<ImageCharacteristicField, number>>;
}

/** A deployment's recent frames, oldest first. */
export interface SensorWindow {
  deployment: string;
  frames: SensorFrame[];
}

export type RoverHealthStatus = 'healthy' | 'suspect' | 'insufficient-data';

/** One rover's laser, judged. */
export interface RoverSensorHealth {
  client: string;
  /** Frames of the rover in the window, and those with a reading. */
  frames: number;
  withReading: number;
  status: RoverHealthStatus;
  /** Empty unless suspect. */
  kinds: SensorFaultKind[];
  /** Epoch ms of the first frame of the evidence (the fault's estimated onset), null unless suspect. */
  since: number | null;
  /** The numbers each detector looked at (shares, runs, mm, p-values): what the API, the console and Grafana show. */
  evidence: Record<string, number | string | null>;
  /** One line a person reads. */
  summary: string;
}

export interface SensorHealthOptions {
  /** The serving version's mean test error (mm): peers "agree with the model" near it. */
  referenceErrorMm: number | null;
}

/** Candidate onsets of a suffix scan are this many frames apart. */
const SCAN_STEP = 10;
/** Peer frames looked at per rover frame, nearest prediction first: bounds a check's cost on large fleets. */
const MAX_PEER_CANDIDATES = 200;
/** ...and it stops once this many times `peerNeighbours` of them were similar. */
const ENOUGH_CANDIDATES_PER_NEIGHBOUR = 4;

interface Onset {
  /** Index in the rover's frames. */
  index: number;
  evidence: Record<string, number | string | null>;
}

/**
 * Judges every rover of the window. `config`: the monitor config's `sensors` group (a SensorHealthConfig; missing
 * fields take their defaults, null or undefined all of them; a value out of range throws the schema's error).
 */
export function assessSensorHealth(window: SensorWindow, config: unknown, options: SensorHealthOptions): RoverSensorHealth[] {
  const c: SensorHealthConfig = sensorHealthConfigSchema.parse(config ?? {});
  const byClient = new Map<string, SensorFrame[]>();
  for (const frame of [...window.frames].sort((a, b) => a.time - b.time)) {
    const list = byClient.get(frame.client) ?? [];
    list.push(frame);
    byClient.set(frame.client, list);
  }
  const peers = new PeerIndex(window.frames, byClient);
  const missing = new MissingReadings(window.frames);
  return [...byClient.keys()].sort().map((client) => judgeRover(client, byClient.get(client)!, peers, missing, c, options));
}

function judgeRover(
  client: string,
  frames: SensorFrame[],
  peers: PeerIndex,
  missing: MissingReadings,
  c: SensorHealthConfig,
  options: SensorHealthOptions,
): RoverSensorHealth {
  const withReading = frames.filter((f) => f.sensorValue !== null).length;
  const base = { client, frames: frames.length, withReading };
  if (frames.length < c.minFrames) {
    return {
      ...base,
      status: 'insufficient-data',
      kinds: [],
      since: null,
      evidence: { frames: frames.length, minFrames: c.minFrames },
      summary: `${frames.length} frames, fewer than the ${c.minFrames} a rover's check needs`,
    };
  }
  const found: [SensorFaultKind, Onset | null][] = [
    ['invalid-readings', invalidReadings(frames, c)],
    ['stuck', stuck(frames, c)],
    ['dropouts', dropouts(frames, missing, c)],
    ['spikes', spikes(frames, c)],
  ];
  const peerOnset = disagreement(frames, peers, c, options);
  found.push(['disagrees-with-peers', peerOnset.onset]);

  const evidence: Record<string, number | string | null> = { frames: frames.length, ...peerOnset.evidence };
  const kinds: SensorFaultKind[] = [];
  let since: number | null = null;
  for (const [kind, onset] of found) {
    if (!onset) continue;
    Object.assign(evidence, onset.evidence);
    if (onset.evidence.flagged === 0) continue;
    kinds.push(kind);
    const at = frames[onset.index].time;
    since = since === null ? at : Math.min(since, at);
  }
  delete evidence.flagged;
  Object.assign(evidence, countsOf(frames));
  const suspect = kinds.length > 0;
  return {
    ...base,
    status: suspect ? 'suspect' : 'healthy',
    kinds,
    since,
    evidence,
    summary: suspect
      ? `suspect since ${new Date(since!).toISOString()}: ${kinds.map((k) => describe(k, evidence)).join('; ')}`
      : `healthy: ${frames.length} frames, ${pct(evidence.dropoutShare)} dropouts, ${evidence.invalidReadings} invalid` +
        (typeof evidence.medianShiftMm === 'number'
          ? `, laser - prediction ${signed(evidence.medianShiftMm)} mm from its peers on ${evidence.matchedFrames} similar frames`
          : ''),
  };
}

function countsOf(frames: SensorFrame[]) {
  let missing = 0;
  let invalid = 0;
  for (const f of frames) {
    const status = readingStatus(f.sensorValue);
    if (status === 'missing') missing++;
    else if (status !== 'ok') invalid++;
  }
  return { dropoutShare: missing / frames.length, invalidReadings: invalid, invalidShare: invalid / frames.length };
}

const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : '?');
const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;

function describe(kind: SensorFaultKind, e: Record<string, number | string | null>): string {
  switch (kind) {
    case 'invalid-readings':
      return `${e.invalidRecent} invalid readings (error codes or out of range) in its last ${e.invalidRecentFrames} frames`;
    case 'stuck':
      return `the same reading ${e.stuckValue} mm ${e.stuckRun} times while the prediction moved ${Number(e.stuckPredictionRangeMm).toFixed(0)} mm`;
    case 'dropouts':
      return `${pct(e.dropoutRecentShare)} of its last ${e.dropoutRecentFrames} readings missing (healthy: ${pct(e.healthyDropoutRate)}, p=${Number(e.dropoutP).toPrecision(2)})`;
    case 'spikes':
      return `${e.spikes} spikes in its last ${e.spikeRecentFrames} readings`;
    case 'disagrees-with-peers':
      return `laser - prediction ${signed(Number(e.recentShiftMm))} mm from its peers' on ${e.recentMatchedFrames} similar frames (p=${Number(e.recentShiftP).toPrecision(2)}), mean error ${Number(e.recentRoverErrorMm).toFixed(1)} vs ${Number(e.recentPeersErrorMm).toFixed(1)} mm`;
  }
}

/**
 * The suffix starts a scan tries: every SCAN_STEP items, each leaving at least `minLength`; the oldest first.
 * Its length is the Bonferroni factor of the scan.
 */
function suffixStarts(n: number, minLength: number): number[] {
  const starts: number[] = [];
  for (let s = 0; s + minLength <= n; s += SCAN_STEP) starts.push(s);
  return starts;
}

function invalidReadings(frames: SensorFrame[], c: SensorHealthConfig): Onset | null {
  const invalid = frames.map((f) => {
    const s = readingStatus(f.sensorValue);
    return s === 'error-code' || s === 'out-of-range';
  });
  // The oldest invalid reading after which the rest of the window is invalid often enough.
  let after = 0;
  for (const v of invalid) if (v) after++;
  for (let i = 0; i < frames.length; i++) {
    if (!invalid[i]) continue;
    const length = frames.length - i;
    if (after >= c.minInvalidReadings && after / length >= c.minInvalidShare) {
      return { index: i, evidence: { flagged: 1, invalidRecent: after, invalidRecentFrames: length } };
    }
    after--;
  }
  return null;
}

function stuck(frames: SensorFrame[], c: SensorHealthConfig): Onset | null {
  let best: { start: number; length: number; value: number; range: number } | null = null;
  let start = -1;
  let value = NaN;
  let length = 0;
  let low = Infinity;
  let high = -Infinity;
  const close = () => {
    const range = high - low;
    if (length >= c.stuckMinRun && range >= c.stuckMinPredictionRangeMm && (!best || length > best.length))
      best = { start, length, value, range: Number.isFinite(range) ? range : 0 };
  };
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    const status = readingStatus(f.sensorValue);
    if (status === 'missing') continue;
    // At the sensor's maximum a healthy laser sees nothing in range: the same value, not a stuck one.
    if (status === 'ok' && f.sensorValue === value && value !== LASER_MAX_MM) {
      length++;
    } else {
      close();
      start = i;
      value = status === 'ok' ? f.sensorValue! : NaN;
      length = status === 'ok' ? 1 : 0;
      low = Infinity;
      high = -Infinity;
    }
    if (f.prediction !== null && length > 0) {
      low = Math.min(low, f.prediction);
      high = Math.max(high, f.prediction);
    }
  }
  close();
  const found = best as { start: number; length: number; value: number; range: number } | null;
  if (!found) return null;
  return {
    index: found.start,
    evidence: { flagged: 1, stuckValue: found.value, stuckRun: found.length, stuckPredictionRangeMm: found.range },
  };
}

/**
 * Missing readings are the rover's laser only where its peers sent theirs: frames every rover sends without a
 * reading (unlabelled probes, a client that stops sending them) are the deployment's, not one sensor's. Each
 * stretch is tested against the larger of a healthy laser's rate and the other rovers' share over the same time.
 */
function dropouts(frames: SensorFrame[], missingReadings: MissingReadings, c: SensorHealthConfig): Onset {
  const missing = frames.map((f) => (f.sensorValue === null ? 1 : 0));
  const after = suffixSums(missing);
  const starts = suffixStarts(frames.length, c.minFrames);
  const expectedRate = (start: number) => {
    const peers = missingReadings.since(frames[start].time);
    const [n, m] = [peers.frames - (frames.length - start), peers.missing - after[start]];
    return n >= c.minFrames ? Math.max(c.healthyDropoutRate, m / n) : c.healthyDropoutRate;
  };
  const pOf = (start: number) => binomialUpperTail(after[start], frames.length - start, expectedRate(start));
  let best: { start: number; p: number; share: number } | null = null;
  for (const s of starts) {
    const p = pOf(s);
    if (!best || p < best.p) best = { start: s, p, share: after[s] / (frames.length - s) };
  }
  const p = best ? Math.min(1, best.p * starts.length) : 1;
  const flagged = best !== null && p < c.alpha && best.share >= c.minDropoutShare;
  return {
    index: flagged ? refineStart(best!.start, frames.length - c.minFrames, pOf) : (best?.start ?? 0),
    evidence: {
      flagged: flagged ? 1 : 0,
      dropoutP: p,
      dropoutRecentShare: best?.share ?? null,
      dropoutRecentFrames: best ? frames.length - best.start : null,
      healthyDropoutRate: c.healthyDropoutRate,
      peersDropoutShare: best ? expectedRate(best.start) : null,
    },
  };
}

/** Every rover's frames and missing readings from a time on (the rover's own included: a rover subtracts its own). */
class MissingReadings {
  private readonly times: number[];
  private readonly missingAfter: number[];

  constructor(frames: SensorFrame[]) {
    const sorted = [...frames].sort((a, b) => a.time - b.time);
    this.times = sorted.map((f) => f.time);
    this.missingAfter = suffixSums(sorted.map((f) => (f.sensorValue === null ? 1 : 0)));
  }

  since(time: number): { frames: number; missing: number } {
    let [low, high] = [0, this.times.length];
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.times[mid] < time) low = mid + 1;
      else high = mid;
    }
    return { frames: this.times.length - low, missing: this.missingAfter[low] ?? 0 };
  }
}

/** The start within a grid step of `start` (at most `last`) with the smallest p-value. */
function refineStart(start: number, last: number, pOf: (start: number) => number): number {
  let best = start;
  let bestP = pOf(start);
  for (let s = Math.max(0, start - SCAN_STEP + 1); s <= Math.min(last, start + SCAN_STEP - 1); s++) {
    const p = pOf(s);
    if (p < bestP) [best, bestP] = [s, p];
  }
  return best;
}

/**
 * The most likely single change of the mean (the standardised CUSUM: the split whose two sides' means differ most
 * for their sizes); 0 when the series is too short.
 */
function changePoint(values: number[]): number {
  const n = values.length;
  const m = mean(values);
  let sum = 0;
  let best = 0;
  let bestScore = 0;
  for (let k = 1; k < n; k++) {
    sum += values[k - 1] - m;
    const score = Math.abs(sum) / Math.sqrt((k * (n - k)) / n);
    if (score > bestScore) [best, bestScore] = [k, score];
  }
  return best;
}

/** after[i] = sum of values[i..]. */
function suffixSums(values: number[]): number[] {
  const after = new Array<number>(values.length + 1).fill(0);
  for (let i = values.length - 1; i >= 0; i--) after[i] = after[i + 1] + values[i];
  return after;
}

function spikes(frames: SensorFrame[], c: SensorHealthConfig): Onset | null {
  const ok: number[] = [];
  for (let i = 0; i < frames.length; i++) if (readingStatus(frames[i].sensorValue) === 'ok') ok.push(i);
  const isSpike = new Array<boolean>(ok.length).fill(false);
  for (let j = 1; j + 1 < ok.length; j++) {
    const [prev, here, next] = [frames[ok[j - 1]], frames[ok[j]], frames[ok[j + 1]]];
    const v = here.sensorValue!;
    const a = v - prev.sensorValue!;
    const b = v - next.sensorValue!;
    const jump = Math.min(Math.abs(a), Math.abs(b));
    const neighbours = (prev.sensorValue! + next.sensorValue!) / 2;
    const threshold = Math.max(c.spikeMinMm, c.spikeMinFraction * neighbours);
    if (Math.sign(a) !== Math.sign(b) || jump < threshold) continue;
    // The neighbours agree with each other (not the start of another parking run)...
    if (Math.abs(prev.sensorValue! - next.sensorValue!) > jump / 2) continue;
    // ...and the prediction did not jump with the laser.
    if (here.prediction !== null && prev.prediction !== null && next.prediction !== null) {
      if (Math.abs(here.prediction - (prev.prediction + next.prediction) / 2) > threshold / 2) continue;
    }
    isSpike[j] = true;
  }
  let after = isSpike.filter(Boolean).length;
  for (let j = 0; j < ok.length; j++) {
    if (!isSpike[j]) continue;
    const length = ok.length - j;
    if (after >= c.minSpikes && after / length >= c.minSpikeShare)
      return { index: ok[j], evidence: { flagged: 1, spikes: after, spikeRecentFrames: length } };
    after--;
  }
  return null;
}

/**
 * The other rovers' frames, for matching: per model version sorted by prediction, with image characteristics
 * scaled by the deployment's typical within-rover spread (the median over rovers of each one's robust standard
 * deviation), so two floors a rover tells apart stay apart even when the window holds both.
 */
class PeerIndex {
  private readonly fields: ImageCharacteristicField[] = [];
  private readonly scale: number[] = [];
  private readonly byVersion = new Map<number | null, PeerFrame[]>();

  constructor(frames: SensorFrame[], byClient: Map<string, SensorFrame[]>) {
    for (const field of IMAGE_CHARACTERISTIC_FIELDS) {
      const spreads: number[] = [];
      for (const list of byClient.values()) {
        const values = list.map((f) => f.features[field]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
        if (values.length >= 10) spreads.push(robustSd(values));
      }
      const scale = spreads.length > 0 ? median(spreads) : 0;
      if (scale > 0) {
        this.fields.push(field);
        this.scale.push(scale);
      }
    }
    for (const f of frames) {
      if (readingStatus(f.sensorValue) !== 'ok' || f.prediction === null) continue;
      const list = this.byVersion.get(f.modelVersion) ?? [];
      list.push({ client: f.client, prediction: f.prediction, residual: f.sensorValue! - f.prediction, features: this.scaled(f) });
      this.byVersion.set(f.modelVersion, list);
    }
    for (const list of this.byVersion.values()) list.sort((a, b) => a.prediction - b.prediction);
  }

  scaled(f: SensorFrame): Float64Array {
    const out = new Float64Array(this.fields.length);
    this.fields.forEach((field, i) => {
      const v = f.features[field];
      out[i] = typeof v === 'number' && Number.isFinite(v) ? v / this.scale[i] : NaN;
    });
    return out;
  }

  /** The other rovers' frames most like this one (same version, close prediction, similar floor), nearest first. */
  neighbours(f: SensorFrame, c: SensorHealthConfig): PeerFrame[] {
    const list = this.byVersion.get(f.modelVersion);
    if (!list || f.prediction === null) return [];
    const p = f.prediction;
    const tolerance = Math.max(c.peerPredictionToleranceMm, 0.1 * Math.abs(p));
    const features = this.scaled(f);
    let hi = lowerBound(list, p);
    let lo = hi - 1;
    const found: { frame: PeerFrame; distance: number }[] = [];
    for (let looked = 0; looked < MAX_PEER_CANDIDATES; looked++) {
      const below = lo >= 0 && p - list[lo].prediction <= tolerance ? p - list[lo].prediction : Infinity;
      const above = hi < list.length && list[hi].prediction - p <= tolerance ? list[hi].prediction - p : Infinity;
      if (below === Infinity && above === Infinity) break;
      const candidate = below <= above ? list[lo--] : list[hi++];
      if (candidate.client === f.client) continue;
      const distance = featureDistance(features, candidate.features);
      if (distance <= c.peerMaxFeatureDistance) found.push({ frame: candidate, distance });
      // Enough similar frames at nearly the same prediction: the nearest of them by floor are good neighbours.
      if (found.length >= ENOUGH_CANDIDATES_PER_NEIGHBOUR * c.peerNeighbours) break;
    }
    return found
      .sort((a, b) => a.distance - b.distance)
      .slice(0, c.peerNeighbours)
      .map((x) => x.frame);
  }
}

interface PeerFrame {
  client: string;
  prediction: number;
  residual: number;
  features: Float64Array;
}

function lowerBound(list: PeerFrame[], prediction: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].prediction < prediction) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** RMS difference over the characteristics both frames have; 0 when they share none (then only the prediction matches). */
function featureDistance(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    if (Number.isNaN(d)) continue;
    sum += d * d;
    n++;
  }
  return n > 0 ? Math.sqrt(sum / n) : 0;
}

function robustSd(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(p * (sorted.length - 1))))];
  return (q(0.75) - q(0.25)) / 1.349;
}

/**
 * The rover's laser against its peers': on each of its frames that has similar frames of other rovers, the
 * difference of its laser - prediction from theirs (an offset or scale shows as a shift; a noisy or spiking laser
 * as a larger absolute error). Judged on the suffix of matched frames where it is most significant.
 */
function disagreement(
  frames: SensorFrame[],
  peers: PeerIndex,
  c: SensorHealthConfig,
  options: SensorHealthOptions,
): { onset: Onset | null; evidence: Record<string, number | string | null> } {
  const matched: { index: number; shift: number; roverError: number; peersError: number }[] = [];
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    if (readingStatus(f.sensorValue) !== 'ok' || f.prediction === null) continue;
    const near = peers.neighbours(f, c);
    if (near.length === 0) continue;
    const residual = f.sensorValue! - f.prediction;
    let peerResidual = 0;
    let peerError = 0;
    for (const p of near) {
      peerResidual += p.residual;
      peerError += Math.abs(p.residual);
    }
    matched.push({
      index: i,
      shift: residual - peerResidual / near.length,
      roverError: Math.abs(residual),
      peersError: peerError / near.length,
    });
  }
  const evidence: Record<string, number | string | null> = { matchedFrames: matched.length };
  if (matched.length < c.peerMinMatchedFrames)
    return { onset: null, evidence: { ...evidence, peers: 'too few similar frames of other rovers' } };

  const shifts = matched.map((m) => m.shift);
  evidence.medianShiftMm = median(shifts);
  const peersError = mean(matched.map((m) => m.peersError));
  evidence.peersErrorMm = peersError;
  evidence.roverErrorMm = mean(matched.map((m) => m.roverError));
  const reference = options.referenceErrorMm;
  evidence.referenceErrorMm = reference;
  const peersDrifted =
    reference !== null && peersError >= reference * c.peersMaxErrorRatio && peersError - reference >= c.peersMaxErrorIncreaseMm;
  evidence.peers =
    reference === null ? 'no reference error' : peersDrifted ? 'peers disagree with the model' : 'peers agree with the model';

  const starts = suffixStarts(matched.length, c.peerMinMatchedFrames);
  // Two tests per suffix, every suffix tried: Bonferroni.
  const tests = 2 * starts.length;
  /** The stretch from `start` on; an effect size is only worked out where the test could flag. */
  const judge = (start: number) => {
    const part = matched.slice(start);
    const roverError = mean(part.map((m) => m.roverError));
    const partPeersError = mean(part.map((m) => m.peersError));
    // A shift counts when it also takes the rover's laser further from the model than its peers' (else they are the odd ones).
    let shiftP = roverError > partPeersError ? serialSignTest(part.map((m) => m.shift)).twoSided : 1;
    if (shiftP * tests < c.alpha && Math.abs(median(part.map((m) => m.shift))) < c.peerMinShiftMm) shiftP = 1;
    const errorP =
      roverError >= partPeersError * c.peerMinErrorRatio && roverError - partPeersError >= c.peerMinShiftMm
        ? serialSignTest(part.map((m) => m.roverError - m.peersError)).greater
        : 1;
    return { start, p: Math.min(shiftP, errorP), roverError, peersError: partPeersError, shiftP, errorP };
  };
  let best: ReturnType<typeof judge> | null = null;
  for (const start of starts) {
    const found = judge(start);
    if (!best || found.p < best.p) best = found;
  }
  if (!best) return { onset: null, evidence };
  const p = Math.min(1, best.p * tests);
  const flagged = p < c.alpha && !peersDrifted;
  // The onset (it does not change the decision): the best start frame by frame around the best of the grid, or the
  // change point of the shifts when earlier (a shift that grows with the distance shows in bursts).
  const refined = refineStart(best.start, matched.length - c.peerMinMatchedFrames, (start) => judge(start).p);
  const onset = Math.min(refined, changePoint(best.shiftP <= best.errorP ? shifts : matched.map((m) => m.roverError - m.peersError)));
  return {
    onset: {
      index: matched[onset].index,
      evidence: {
        flagged: flagged ? 1 : 0,
        peersP: p,
        recentMatchedFrames: matched.length - best.start,
        recentShiftMm: median(shifts.slice(best.start)),
        recentShiftP: Math.min(1, best.shiftP * tests),
        recentRoverErrorMm: best.roverError,
        recentPeersErrorMm: best.peersError,
        recentErrorP: Math.min(1, best.errorP * tests),
      },
    },
    evidence,
  };
}

function mean(values: number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return values.length > 0 ? sum / values.length : NaN;
}
