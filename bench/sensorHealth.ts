/**
 * The sensor health check (core/sensors/sensorHealth.ts, default config) on simulated deployments of three rovers
 * (edge/simulatedFleet.ts: parking runs at 4 frames/s, edge/laser.ts's laser, predictions modelled as the true
 * distance plus a model error, floor characteristics plus noise; no camera rendering, no trained model):
 * - frames to flag: one rover gets a fault (edge/laserFaults.ts) after a full 5-minute window of healthy frames;
 *   the fewest of its frames after the onset at which the check of the last 5 minutes calls it suspect;
 * - false flags per 10,000 healthy frames: a check every 60 s over an hour of healthy rovers, in distribution and
 *   in each of the five demo phases as a whole-deployment shift;
 * - the race with the drift check: frames of the faulty rover until checkDrift (default monitor config) finds
 *   drift in the deployment's window, against a reference profile of the in-distribution model, versus until the
 *   rover is flagged;
 * - the cost of one assessment of a full window.
 */
import { checkDrift, type DriftWindow } from '../core/drift/driftCheck.js';
import { DEFAULT_MONITOR_CONFIG } from '../core/drift/monitorConfig.js';
import { referenceProfileOf, type ReferenceProfile } from '../core/drift/referenceProfile.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristicField } from '../core/features/fields.js';
import { readingStatus } from '../core/sensors/laserSpec.js';
import { assessSensorHealth, type RoverSensorHealth, type SensorFaultKind, type SensorWindow } from '../core/sensors/sensorHealth.js';
import { DETECTOR_OF, describeLaserFault, type LaserFault } from '../edge/laserFaults.js';
import {
  FLEET_PHASES,
  simulateDeployment,
  VARYING_ANGLES_PHASE,
  type FleetPhase,
  type SimulatedFrame,
  type SimulatedRover,
} from '../edge/simulatedFleet.js';
import { fixed, markdownTable } from './markdownTable.js';

export interface SensorHealthBenchSettings {
  /** Seeds per fault (frames to flag: median and largest over them). */
  seeds: number;
  /** Simulated minutes of healthy frames per scenario and seed for the false flags. */
  healthyMinutes: number;
  /** Frames of the faulty rover tried at most. */
  maxFaultFrames: number;
  /** Rovers of the deployments whose full window one assessment is timed on. */
  costRovers: number[];
}

const FRAMES_PER_MINUTE = 240;
const WINDOW_FRAMES = 5 * FRAMES_PER_MINUTE;
const WINDOW_MS = 5 * 60_000;
const CHECK_EVERY_FRAMES = FRAMES_PER_MINUTE;
const config = DEFAULT_MONITOR_CONFIG.sensors;

export const FAULT_CASES: LaserFault[] = [
  { kind: 'offset', mm: 5 },
  { kind: 'offset', mm: 10 },
  { kind: 'offset', mm: 20 },
  { kind: 'offset', mm: -20 },
  { kind: 'offset', mm: 50 },
  { kind: 'scale', factor: 1.05 },
  { kind: 'scale', factor: 1.1 },
  { kind: 'scale', factor: 1.2 },
  { kind: 'stuck' },
  { kind: 'dropouts', rate: 0.1 },
  { kind: 'dropouts', rate: 0.3 },
  { kind: 'dropouts', rate: 0.8 },
  { kind: 'spikes', rate: 0.02 },
  { kind: 'spikes', rate: 0.05 },
  { kind: 'spikes', rate: 0.2 },
  { kind: 'error-codes', rate: 0.05 },
  { kind: 'error-codes', rate: 0.3 },
  { kind: 'out-of-range', rate: 0.05 },
  { kind: 'out-of-range', rate: 0.3 },
];

/** Faults that move the deployment's error: does the drift check fire before the rover is flagged? */
export const RACE_CASES: LaserFault[] = [
  { kind: 'offset', mm: 10 },
  { kind: 'offset', mm: 20 },
  { kind: 'offset', mm: 30 },
  { kind: 'offset', mm: 50 },
  { kind: 'offset', mm: 100 },
  { kind: 'scale', factor: 1.2 },
  { kind: 'scale', factor: 1.5 },
  { kind: 'stuck' },
  { kind: 'spikes', rate: 0.1 },
];

/** Frames of the faulty rover after the onset at which a check is tried: fine first, coarser later. */
function schedule(max: number): number[] {
  const steps: number[] = [];
  for (let n = 10; n <= Math.min(100, max); n += 10) steps.push(n);
  for (let n = 120; n <= Math.min(400, max); n += 20) steps.push(n);
  for (let n = 450; n <= max; n += 50) steps.push(n);
  return steps;
}

const REFERENCE_ERROR_MM = 8.5;
const options = { referenceErrorMm: REFERENCE_ERROR_MM };

function windowEndingAt(frames: SimulatedFrame[], end: number): SensorWindow {
  return { deployment: 'bench', frames: frames.filter((f) => f.time <= end && f.time > end - WINDOW_MS) };
}

const threeRovers = (fault: LaserFault | null, from = WINDOW_FRAMES): SimulatedRover[] => [
  { client: 'rover-a', fault, faultFromFrame: from },
  { client: 'rover-b' },
  { client: 'rover-c' },
];

/** The time of the faulty rover's n-th frame after the onset (1-based), the onset after `history` healthy frames. */
const timeOfFaultFrame = (frames: SimulatedFrame[], n: number, history = WINDOW_FRAMES) =>
  frames.find((f) => f.client === 'rover-a' && f.index === history + n - 1)!.time;

export interface FlagRow {
  fault: string;
  expected: SensorFaultKind;
  /** Per seed: frames after the onset at the first flag (null: not within maxFaultFrames). */
  frames: (number | null)[];
  kinds: string[];
  /** Seconds between the estimated onset and the true one (negative: earlier), per flagged seed. */
  onsetErrorSeconds: number[];
  /** Healthy rovers flagged at any tried check while the fault ran. */
  othersFlagged: number;
}

function framesToFlag(fault: LaserFault, seed: number, max: number) {
  const frames = simulateDeployment({ rovers: threeRovers(fault), frames: WINDOW_FRAMES + max, seed });
  const onset = timeOfFaultFrame(frames, 1);
  let othersFlagged = 0;
  for (const n of schedule(max)) {
    const health = assessSensorHealth(windowEndingAt(frames, timeOfFaultFrame(frames, n)), config, options);
    othersFlagged += health.filter((h) => h.client !== 'rover-a' && h.status === 'suspect').length;
    const a = health.find((h) => h.client === 'rover-a')!;
    if (a.status === 'suspect') return { n, kinds: a.kinds, onsetError: (a.since! - onset) / 1000, othersFlagged };
  }
  return { n: null, kinds: [] as SensorFaultKind[], onsetError: null, othersFlagged };
}

export interface FalseFlagRow {
  scenario: string;
  roverFrames: number;
  checks: number;
  /** A rover newly suspect at a check (it was not at the one before). */
  flags: number;
  per10k: number;
  kinds: Record<string, number>;
}

function falseFlags(scenario: string, phase: FleetPhase, seeds: number, minutes: number): FalseFlagRow {
  let roverFrames = 0;
  let checks = 0;
  let flags = 0;
  const kinds: Record<string, number> = {};
  for (let seed = 1; seed <= seeds; seed++) {
    const frames = simulateDeployment({ rovers: threeRovers(null), frames: minutes * FRAMES_PER_MINUTE, phase, seed: 1000 + seed });
    roverFrames += frames.length;
    const suspect = new Set<string>();
    for (let n = CHECK_EVERY_FRAMES; n <= minutes * FRAMES_PER_MINUTE; n += CHECK_EVERY_FRAMES) {
      const end = frames.find((f) => f.client === 'rover-a' && f.index === n - 1)!.time;
      const health = assessSensorHealth(windowEndingAt(frames, end), config, options);
      checks++;
      for (const h of health) {
        if (h.status === 'suspect' && !suspect.has(h.client)) {
          flags++;
          for (const k of h.kinds) kinds[k] = (kinds[k] ?? 0) + 1;
        }
        if (h.status === 'suspect') suspect.add(h.client);
        else suspect.delete(h.client);
      }
    }
  }
  return { scenario, roverFrames, checks, flags, per10k: (flags / roverFrames) * 10_000, kinds };
}

/** The deployment's drift window as the measurement store would give it: ingest gives invalid readings no error. */
function driftWindowOf(frames: SimulatedFrame[]): DriftWindow {
  const features: Partial<Record<ImageCharacteristicField, Float64Array>> = {};
  for (const field of IMAGE_CHARACTERISTIC_FIELDS) {
    const values = frames.map((f) => f.features[field]).filter((v): v is number => typeof v === 'number');
    if (values.length > 0) features[field] = Float64Array.from(values);
  }
  const labelled = frames.filter((f) => readingStatus(f.sensorValue) === 'ok');
  return {
    frames: frames.length,
    windowStart: frames[0]?.time ?? null,
    windowEnd: frames.at(-1)?.time ?? null,
    features,
    labels: Float64Array.from(labelled.map((f) => f.sensorValue!)),
    errors: Float64Array.from(labelled.filter((f) => f.prediction !== null).map((f) => Math.abs(f.prediction! - f.sensorValue!))),
  };
}

/** The in-distribution model's reference: its training frames and test errors, another seed than the deployments'. */
function referenceProfile(): ReferenceProfile {
  const frames = simulateDeployment({ rovers: threeRovers(null), frames: 2000, seed: 99 }).filter(
    (f) => readingStatus(f.sensorValue) === 'ok' && f.prediction !== null,
  );
  return referenceProfileOf({
    modelName: 'bench',
    version: 1,
    source: { manifestKey: 'bench', workflowId: 'bench', runId: 'bench' },
    rows: frames.map((f) => ({ sensorValue: f.sensorValue!, characteristics: f.features })),
    labelMaxMm: 400,
    testErrorsMm: frames.map((f) => Math.abs(f.prediction! - f.sensorValue!)),
  });
}

export interface RaceRow {
  fault: string;
  /** Healthy frames per rover before the onset: a full window, or none (the deployment starts with the fault). */
  history: number;
  /** Frames of the faulty rover after the onset at the first check that flags it / that finds drift (null: never within max). */
  flagFrames: number | null;
  driftFrames: number | null;
  driftKinds: string;
  /** The deployment's live mean error at the first drift, or at the last try. */
  liveMeanErrorMm: number | null;
  /** ...with the suspect rover's frames left out at the same check. */
  withoutSuspectMm: number | null;
  driftWithoutSuspect: boolean | null;
}

function race(fault: LaserFault, profile: ReferenceProfile, max: number, history: number): RaceRow {
  const frames = simulateDeployment({ rovers: threeRovers(fault, history), frames: history + max, seed: 5 });
  let flagFrames: number | null = null;
  let driftFrames: number | null = null;
  let driftKinds = '';
  let liveMeanErrorMm: number | null = null;
  let withoutSuspectMm: number | null = null;
  let driftWithoutSuspect: boolean | null = null;
  for (const n of schedule(max)) {
    const window = windowEndingAt(frames, timeOfFaultFrame(frames, n, history));
    if (flagFrames === null) {
      const a = assessSensorHealth(window, config, options).find((h) => h.client === 'rover-a') as RoverSensorHealth;
      if (a.status === 'suspect') flagFrames = n;
    }
    if (driftFrames === null) {
      const report = checkDrift(profile, driftWindowOf(window.frames as SimulatedFrame[]), DEFAULT_MONITOR_CONFIG);
      liveMeanErrorMm = report.performance?.liveMeanErrorMm ?? null;
      if (report.verdict === 'drift') {
        driftFrames = n;
        driftKinds = report.kinds.join(' + ');
        const rest = checkDrift(
          profile,
          driftWindowOf((window.frames as SimulatedFrame[]).filter((f) => f.client !== 'rover-a')),
          DEFAULT_MONITOR_CONFIG,
        );
        withoutSuspectMm = rest.performance?.liveMeanErrorMm ?? null;
        driftWithoutSuspect = rest.verdict === 'drift';
      }
    }
    if (flagFrames !== null && driftFrames !== null) break;
  }
  return {
    fault: describeLaserFault(fault),
    history,
    flagFrames,
    driftFrames,
    driftKinds,
    liveMeanErrorMm,
    withoutSuspectMm,
    driftWithoutSuspect,
  };
}

export interface CostRow {
  rovers: number;
  frames: number;
  milliseconds: number[];
}

function cost(rovers: number): CostRow {
  const frames = simulateDeployment({
    rovers: Array.from({ length: rovers }, (_, i) => ({ client: `rover-${i}` })),
    frames: WINDOW_FRAMES,
    seed: 7,
  });
  const milliseconds: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    assessSensorHealth({ deployment: 'bench', frames }, config, options);
    milliseconds.push(performance.now() - t);
  }
  return { rovers, frames: frames.length, milliseconds };
}

export interface SensorHealthBenchResult {
  flags: FlagRow[];
  falseFlags: FalseFlagRow[];
  race: RaceRow[];
  reference: { testMeanErrorMm: number };
  cost: CostRow[];
  seconds: number;
}

export async function benchmarkSensorHealth(
  settings: SensorHealthBenchSettings,
  log: (line: string) => void,
): Promise<SensorHealthBenchResult> {
  const t0 = performance.now();
  const flags: FlagRow[] = [];
  for (const fault of FAULT_CASES) {
    const runs = Array.from({ length: settings.seeds }, (_, i) => framesToFlag(fault, i + 1, settings.maxFaultFrames));
    flags.push({
      fault: describeLaserFault(fault),
      expected: DETECTOR_OF[fault.kind],
      frames: runs.map((r) => r.n),
      kinds: [...new Set(runs.flatMap((r) => r.kinds))],
      onsetErrorSeconds: runs.flatMap((r) => (r.onsetError === null ? [] : [r.onsetError])),
      othersFlagged: runs.reduce((n, r) => n + r.othersFlagged, 0),
    });
    log(`sensor health: ${describeLaserFault(fault)} flagged after ${runs.map((r) => r.n ?? '-').join(', ')} frames`);
  }
  const falseFlagRows: FalseFlagRow[] = [];
  for (const [id, phase] of [...Object.entries(FLEET_PHASES), ['stress', VARYING_ANGLES_PHASE] as const]) {
    falseFlagRows.push(
      falseFlags(id === 'control' ? 'healthy rovers, in distribution' : phase.name, phase, settings.seeds, settings.healthyMinutes),
    );
    log(`sensor health: false flags, ${phase.name}: ${falseFlagRows.at(-1)!.flags}`);
  }
  const profile = referenceProfile();
  const raceRows = [WINDOW_FRAMES, 0].flatMap((history) =>
    RACE_CASES.map((fault) => {
      const row = race(fault, profile, settings.maxFaultFrames, history);
      log(
        `sensor health: race ${row.fault} after ${history} healthy frames: flagged after ${row.flagFrames ?? '-'}, drift after ${row.driftFrames ?? '-'} frames`,
      );
      return row;
    }),
  );
  const costRows = settings.costRovers.map(cost);
  return {
    flags,
    falseFlags: falseFlagRows,
    race: raceRows,
    reference: { testMeanErrorMm: profile.testErrors.mean },
    cost: costRows,
    seconds: (performance.now() - t0) / 1000,
  };
}

const medianOf = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)];
};
const framesCell = (n: number | null) => (n === null ? 'never' : `${n} (${fixed(n / 4, 1)} s)`);

export function sensorHealthTables(result: SensorHealthBenchResult, settings: SensorHealthBenchSettings) {
  const flags = markdownTable(
    [
      'fault (one rover of three)',
      'detector',
      'frames to flag: median',
      'largest',
      'flagged',
      'kinds found',
      'onset error (s)',
      'healthy rovers flagged',
    ],
    result.flags.map((r) => {
      const found = r.frames.filter((n): n is number => n !== null);
      return [
        r.fault,
        r.expected,
        found.length ? framesCell(medianOf(found)) : 'never',
        found.length === r.frames.length ? framesCell(Math.max(...found)) : 'never',
        `${found.length}/${r.frames.length}`,
        r.kinds.join(', ') || '-',
        r.onsetErrorSeconds.length ? `${fixed(Math.min(...r.onsetErrorSeconds), 1)} .. ${fixed(Math.max(...r.onsetErrorSeconds), 1)}` : '-',
        String(r.othersFlagged),
      ];
    }),
  );
  const falseFlags = markdownTable(
    ['scenario (3 healthy rovers)', 'rover frames', 'checks', 'flags', 'per 10,000 frames', 'kinds'],
    result.falseFlags.map((r) => [
      r.scenario,
      r.roverFrames.toLocaleString('en-US'),
      String(r.checks),
      String(r.flags),
      fixed(r.per10k, 2),
      Object.entries(r.kinds)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || '-',
    ]),
  );
  const race = markdownTable(
    [
      'fault (one rover of three)',
      'before the fault',
      'flagged after (frames of the rover)',
      'drift check fires after',
      'drift kinds',
      'live mean error at drift (mm)',
      'without the suspect rover (mm)',
      'still drift without it',
    ],
    result.race.map((r) => [
      r.fault,
      r.history > 0 ? 'a full window of healthy frames' : 'nothing (new deployment)',
      framesCell(r.flagFrames),
      r.driftFrames === null ? `never (${settings.maxFaultFrames})` : framesCell(r.driftFrames),
      r.driftKinds || '-',
      fixed(r.liveMeanErrorMm ?? undefined, 1),
      fixed(r.withoutSuspectMm ?? undefined, 1),
      r.driftWithoutSuspect === null ? '-' : r.driftWithoutSuspect ? 'yes' : 'no',
    ]),
  );
  const cost = markdownTable(
    ['rovers', 'frames in the window', 'one assessment (ms), 3 runs'],
    result.cost.map((r) => [String(r.rovers), r.frames.toLocaleString('en-US'), r.milliseconds.map((ms) => ms.toFixed(0)).join(', ')]),
  );
  return { flags, falseFlags, race, cost };
}
