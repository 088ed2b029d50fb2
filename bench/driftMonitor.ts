/**
 * The drift monitor benchmark (`BENCH_ONLY=drift`): how soon the drift check finds each phase's drift,
 * how often it calls in-distribution windows drift, and what one check costs on a full measurement store.
 * Everything runs with the default monitor config (core/drift/monitorConfig.ts).
 */
import { DEFAULT_MONITOR_CONFIG } from '../core/drift/monitorConfig.js';
import { PRESET_IDS } from '../edge/presets.js';
import { benchmarkCheckCost, type CheckCost, type TemplateFrame } from './driftCheckCost.js';
import {
  decidingStatistic,
  falseAlarms,
  framesToDetect,
  predictionsOf,
  scheduledDetection,
  trainVersion,
  type AnsweredStream,
  type BenchVersion,
  type FalseAlarmResult,
  type ScheduledDetection,
  pathAgreement,
} from './driftDetection.js';
import { labelledOf, recordAnalysedFrames, type PresetRecording } from './driftFrames.js';
import { duration, fixed, markdownTable, mib } from './markdownTable.js';
import type { DriftBenchSettings } from './settings.js';

/**
 * The demo's phases after the first, each against the version a retrain on the phases before it registered;
 * the unseen floor whose mean colour is beige's (phase 6) against both beige versions.
 */
const PHASES = [
  { preset: 'beige-350', drift: 'label shift: range 250 -> 350 mm', reference: 'v1' },
  { preset: 'green-350', drift: 'covariate: beige -> green carpet', reference: 'v2' },
  { preset: 'green-angled-350', drift: 'concept: approach angle up to 30 deg', reference: 'v3' },
  { preset: 'red-350', drift: 'covariate: red tiles', reference: 'v4' },
  { preset: 'checker-350', drift: 'unseen checker floor, beige mean colour', reference: 'v2' },
  { preset: 'checker-350', drift: 'unseen checker floor, beige mean colour', reference: 'v1' },
];
const VERSIONS = [
  { name: 'v1', presets: ['beige-250'] },
  { name: 'v2', presets: ['beige-250', 'beige-350'] },
  { name: 'v3', presets: ['beige-250', 'beige-350', 'green-350'] },
  { name: 'v4', presets: ['beige-250', 'beige-350', 'green-350', 'green-angled-350'] },
];
const REFERENCE_SEED = 101;
const STREAM_SEED = 202;
const ROVER_COUNTS = [1, 32];
const DETECTION_STEP_FRAMES = 20;
const FLEET_HORIZON_SECONDS = 10 * 60;
const COST_TEMPLATES = 300;

export interface PhaseDetection {
  preset: string;
  drift: string;
  reference: string;
  firstCheck: ReturnType<typeof framesToDetect>;
  scheduled: Record<number, ScheduledDetection | null>;
  horizonSeconds: Record<number, number>;
}

export interface DriftBenchResult {
  recordings: { preset: string; seed: number; frames: number; labelled: number; runs: number; seconds: number }[];
  versions: Omit<BenchVersion, 'model' | 'profile'>[];
  detection: PhaseDetection[];
  falseAlarms: (FalseAlarmResult & { preset: string; reference: string })[];
  cost: CheckCost[];
  /** Checks run on summaries and on raw windows, and where they differed (bench/driftDetection.ts). */
  paths: { checks: number; disagreements: string[] };
}

export async function benchmarkDriftMonitor(settings: DriftBenchSettings, log: (line: string) => void): Promise<DriftBenchResult> {
  const config = DEFAULT_MONITOR_CONFIG;
  const plan = { input: settings.input, epochs: settings.epochs, seed: 9 };
  const recordings: DriftBenchResult['recordings'] = [];
  const record = async (preset: string, labelled: number, seed: number) => {
    const found = await recordAnalysedFrames(preset, labelled, seed, settings.input);
    recordings.push({
      preset,
      seed,
      frames: found.frames.length,
      labelled: labelledOf(found.frames).length,
      runs: found.runs,
      seconds: found.seconds,
    });
    log(
      `drift: ${preset} seed ${seed}: ${found.frames.length} frames of ${found.runs} runs rendered and analysed in ${found.seconds.toFixed(1)} s`,
    );
    return found;
  };
  const presets = [...PRESET_IDS];
  const reference = new Map<string, PresetRecording>();
  const stream = new Map<string, PresetRecording>();
  for (const preset of presets) {
    reference.set(preset, await record(preset, settings.referenceFrames, REFERENCE_SEED));
    stream.set(preset, await record(preset, settings.streamFrames, STREAM_SEED));
  }

  const versions = new Map<string, BenchVersion>();
  for (const { name, presets: trainedOn } of VERSIONS) {
    const version = await trainVersion(
      name,
      trainedOn,
      trainedOn.flatMap((p) => reference.get(p)!.frames),
      plan,
    );
    versions.set(name, version);
    log(
      `drift: ${name} on ${trainedOn.join('+')}: ${version.trainFrames} frames, test MAE ${version.testMaeMm.toFixed(1)} mm (${version.trainSeconds.toFixed(1)} s)`,
    );
  }
  const answered = async (version: BenchVersion, preset: string): Promise<AnsweredStream> => {
    const frames = stream.get(preset)!.frames;
    return { frames, predictions: await predictionsOf(version.model, frames, settings.input) };
  };

  const detection: PhaseDetection[] = [];
  for (const phase of PHASES) {
    const version = versions.get(phase.reference)!;
    const phaseStream = await answered(version, phase.preset);
    const horizonSeconds = { 1: phaseStream.frames.length / 4, 32: FLEET_HORIZON_SECONDS };
    const scheduled: PhaseDetection['scheduled'] = {};
    for (const rovers of ROVER_COUNTS)
      scheduled[rovers] = scheduledDetection(version.profile, phaseStream, config, rovers, horizonSeconds[rovers as 1 | 32]);
    const firstCheck = framesToDetect(version.profile, phaseStream, config, DETECTION_STEP_FRAMES);
    detection.push({ ...phase, firstCheck, scheduled, horizonSeconds });
    log(
      `drift: ${phase.preset} vs ${phase.reference}: ${firstCheck ? `drift after ${firstCheck.frames} frames (${firstCheck.report.kinds.join('+')})` : 'no drift found'}`,
    );
  }

  const alarms: DriftBenchResult['falseAlarms'] = [];
  for (const preset of presets) {
    const own =
      preset === 'beige-250' ? versions.get('v1')! : await trainVersion(`p-${preset}`, [preset], reference.get(preset)!.frames, plan);
    const ownStream = await answered(own, preset);
    for (const size of [config.minFrames, settings.fullWindowFrames]) {
      if (size > ownStream.frames.length) {
        log(`drift: ${preset}: no windows of ${size} frames (the recording has ${ownStream.frames.length})`);
        continue;
      }
      const found = falseAlarms(own.profile, ownStream, config, size, settings.windows);
      alarms.push({ ...found, preset, reference: own.name });
      log(`drift: ${preset}: ${found.falseAlarms}/${found.windows} windows of ${size} frames called drift`);
    }
    if (own !== versions.get('v1')) own.model.dispose();
  }

  const v2 = versions.get('v2')!;
  const costFrames = v2.presets.flatMap((p) => reference.get(p)!.frames).slice(0, COST_TEMPLATES);
  const costPredictions = await predictionsOf(v2.model, costFrames, settings.input);
  const templates: TemplateFrame[] = costFrames.map((f, i) => ({
    characteristics: f.characteristics,
    sensorMm: f.sensorMm,
    predictionMm: costPredictions[i],
  }));
  const cost = await benchmarkCheckCost(
    { storedFrames: settings.storedFrames, repetitions: settings.costRepetitions, influxUrl: settings.influxUrl },
    templates,
    v2.profile,
    log,
  );
  for (const version of versions.values()) version.model.dispose();
  return {
    recordings,
    versions: [...versions.values()].map(({ model: _model, profile: _profile, ...rest }) => rest),
    detection,
    falseAlarms: alarms,
    cost,
    paths: { checks: pathAgreement.checks, disagreements: [...pathAgreement.disagreements] },
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Wasserstein in reference standard deviations: infinite when the reference never varied. */
const sd = (value: number, digits: number) => (value === Infinity ? 'inf (constant in the reference)' : `${fixed(value, digits)} sd`);

const kindsOf = (found: { report: { kinds: string[] } } | null | undefined) => (found ? found.report.kinds.join(' + ') : 'nothing');
const count = (n: number) => n.toLocaleString('en-US');

/** A detection cell; the kinds are named when they differ from the row's "fired by". */
function detectionCell(found: { report: { kinds: string[] } } | null, firedBy: string, text: string): string {
  const kinds = kindsOf(found);
  if (kinds === firedBy) return text;
  return text.endsWith(')') ? `${text.slice(0, -1)}; ${kinds})` : `${text} (${kinds})`;
}

function scheduledCell(found: ScheduledDetection | null, horizonSeconds: number, firedBy: string): string {
  if (!found) return `not within ${duration(horizonSeconds)}`;
  const reused = found.distinctFrames < found.windowFrames ? `, ${count(found.distinctFrames)} distinct` : '';
  return detectionCell(found, firedBy, `${duration(found.seconds)} (${count(found.framesArrived)} frames${reused})`);
}

export function driftTables(result: DriftBenchResult) {
  const versions = markdownTable(
    ['version', 'trained on (seed ' + REFERENCE_SEED + ')', 'train frames', 'test MAE', 'train time'],
    result.versions.map((v) => [
      v.name,
      v.presets.join(' + '),
      String(v.trainFrames),
      `${fixed(v.testMaeMm)} mm`,
      duration(v.trainSeconds),
    ]),
  );
  const detection = markdownTable(
    [
      'phase',
      'drift',
      'reference',
      'fired by',
      'deciding statistic (first firing check, 1 rover)',
      'frames to detect',
      'time to detect (1 rover)',
      '(32 rovers x 4 fps)',
    ],
    result.detection.map((d) => {
      // What the monitor's own check found: one rover's first firing check (or the first firing window).
      const decided = d.scheduled[1] ?? d.firstCheck;
      const firedBy = kindsOf(decided);
      return [
        d.preset,
        d.drift,
        `${d.reference} (${result.versions.find((v) => v.name === d.reference)?.presets.join('+')})`,
        firedBy,
        decided ? decidingStatistic(decided.report) : '-',
        d.firstCheck ? detectionCell(d.firstCheck, firedBy, `${d.firstCheck.frames}`) : `> ${count(d.horizonSeconds[1] * 4)}`,
        scheduledCell(d.scheduled[1], d.horizonSeconds[1], firedBy),
        scheduledCell(d.scheduled[32], d.horizonSeconds[32], firedBy),
      ];
    }),
  );
  const falseAlarmTable = markdownTable(
    [
      'preset',
      'reference',
      'window',
      'windows (overlap)',
      'false alarms',
      'fired by',
      'largest per-feature Wasserstein',
      'largest outside share',
    ],
    result.falseAlarms.map((f) => [
      f.preset,
      f.reference,
      `${f.windowFrames} frames`,
      `${f.windows} of ${f.poolFrames} frames (${(f.overlap * 100).toFixed(0)}%)`,
      String(f.falseAlarms),
      Object.entries(f.firedBy)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || '-',
      `${sd(f.largestWasserstein, 2)} (${f.largestWassersteinFeature})`,
      `${(f.largestOutsideShare * 100).toFixed(1)}% (${f.largestOutsideFeature})`,
    ]),
  );
  const cost = markdownTable(
    [
      'store',
      'stored frames',
      "deployment's frames",
      'window frames',
      'fill',
      'read window (cold / median)',
      'checkDrift (median)',
      'total (median)',
      'RSS delta',
      'heap + buffers delta',
    ],
    result.cost.map((c) => [
      c.store,
      c.storedFrames.toLocaleString('en-US'),
      c.deploymentFrames.toLocaleString('en-US'),
      c.windowFrames.toLocaleString('en-US'),
      duration(c.writeSeconds),
      `${fixed(c.readMs[0], 0)} / ${fixed(median(c.readMs), 0)} ms`,
      `${fixed(median(c.checkMs), 0)} ms`,
      `${fixed(median(c.readMs.map((r, i) => r + c.checkMs[i])), 0)} ms`,
      mib(c.rssDelta / 2 ** 20),
      mib(c.heapDelta / 2 ** 20),
    ]),
  );
  return { versions, detection, falseAlarms: falseAlarmTable, cost };
}
