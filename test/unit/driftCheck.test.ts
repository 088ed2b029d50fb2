import { describe, expect, it } from 'vitest';
import { checkDrift as checkRaw, checkDriftOfSummary, type DriftWindow } from '../../core/drift/driftCheck.js';
import type { MonitorConfig } from '../../core/drift/monitorConfig.js';
import { summaryOfWindow } from '../../core/drift/windowSummary.js';
import { DEFAULT_MONITOR_CONFIG, monitorConfigSchema } from '../../core/drift/monitorConfig.js';
import { referenceProfileOf, type ReferenceProfile } from '../../core/drift/referenceProfile.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';
import { createRng, type Rng } from '../../core/random.js';

/** A frame: every characteristic drawn around `centre` (per-feature offsets keep features apart), a label in 0..maxMm. */
const frame = (rng: Rng, centre: number, maxMm: number) => ({
  sensorValue: rng.uniform(0, maxMm),
  characteristics: Object.fromEntries(
    IMAGE_CHARACTERISTIC_FIELDS.map((f, i) => [f, i * 100 + rng.gaussian(centre, 5)]),
  ) as ImageCharacteristics,
});

function profileOf(rng: Rng, parts: { centre: number; frames: number }[], maxMm = 250, testErrorMm = 5): ReferenceProfile {
  const rows = parts.flatMap(({ centre, frames }) => Array.from({ length: frames }, () => frame(rng, centre, maxMm)));
  return referenceProfileOf({
    modelName: 'm',
    version: 1,
    source: { manifestKey: 'k', workflowId: 'w', runId: 'r' },
    rows,
    labelMaxMm: 350,
    testErrorsMm: Array.from({ length: 400 }, () => Math.abs(rng.gaussian(0, testErrorMm))),
  });
}

function windowOf(rng: Rng, frames: number, { centre = 50, maxMm = 250, errorSd = 5 } = {}): DriftWindow {
  const rows = Array.from({ length: frames }, () => frame(rng, centre, maxMm));
  return {
    frames,
    windowStart: 0,
    windowEnd: frames * 250,
    features: Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f) => [f, Float64Array.from(rows.map((r) => r.characteristics[f]))])),
    labels: Float64Array.from(rows.map((r) => r.sensorValue)),
    errors: Float64Array.from(rows, () => Math.abs(rng.gaussian(0, errorSd))),
  };
}

/** The raw path (the window's values) and the summary path (their counts over the reference's grid) must say the same. */
const PATHS = {
  raw: checkRaw,
  summary: (profile: ReferenceProfile, window: DriftWindow, config: MonitorConfig) =>
    checkDriftOfSummary(profile, summaryOfWindow(profile, window), config),
};

describe.each(Object.entries(PATHS))('checkDrift (%s)', (_path, checkDrift) => {
  const rng = createRng(42);
  const beige = profileOf(rng, [{ centre: 50, frames: 2000 }]);

  it('finds nothing in windows drawn like the reference (40 windows, no false alarm)', () => {
    for (let i = 0; i < 40; i++) {
      const report = checkDrift(beige, windowOf(rng, 300), DEFAULT_MONITOR_CONFIG);
      expect(report.verdict, report.summary).toBe('no-drift');
      expect(report.covariate!.testedFeatures).toBe(22);
    }
  });

  it('calls too small a window insufficient, never a guess', () => {
    const report = checkDrift(beige, windowOf(rng, 199, { centre: 500 }), DEFAULT_MONITOR_CONFIG);
    expect(report).toMatchObject({ verdict: 'insufficient-data', kinds: [], covariate: null, label: null, performance: null });
  });

  it('finds covariate drift when the features move out of what the version learned, with per-feature evidence', () => {
    const report = checkDrift(beige, windowOf(rng, 300, { centre: 80 }), DEFAULT_MONITOR_CONFIG);
    // The laser says the version's error holds: the drift is reported, never a retrain.
    expect(report.verdict).toBe('harmless-drift');
    expect(report.kinds).toEqual(['covariate']);
    expect(report.covariate!.driftedFeatures).toHaveLength(22);
    const hsv = report.covariate!.features.hsv_s!;
    expect(hsv.ks).toBeGreaterThan(0.9);
    expect(hsv.adjustedP).toBeLessThan(1e-10);
    expect(hsv.wasserstein).toBeGreaterThan(5);
    expect(hsv.outsideShare).toBeGreaterThan(0.9);
  });

  it('asks for a retrain on covariate drift alone only when the laser cannot vouch for the error', () => {
    const moved = windowOf(rng, 300, { centre: 80 });
    // Too few labelled frames to judge the error: the moved features are the only evidence.
    const unlabelled = { ...moved, labels: moved.labels.subarray(0, 150), errors: moved.errors.subarray(0, 150) };
    const blind = checkDrift(beige, unlabelled, DEFAULT_MONITOR_CONFIG);
    expect(blind.performance).toBeNull();
    expect(blind).toMatchObject({ verdict: 'drift', kinds: ['covariate'] });
    // The error grew as well: drift.
    const worse = checkDrift(beige, windowOf(rng, 300, { centre: 80, errorSd: 15 }), DEFAULT_MONITOR_CONFIG);
    expect(worse).toMatchObject({ verdict: 'drift', kinds: ['performance', 'covariate'] });
    // The error holds on 300 labelled frames: harmless, and the summary says why nothing is asked.
    const holds = checkDrift(beige, moved, DEFAULT_MONITOR_CONFIG);
    expect(holds).toMatchObject({ verdict: 'harmless-drift', kinds: ['covariate'] });
    expect(holds.covariate!.drifted).toBe(true);
    expect(holds.summary).toMatch(/error holds on 300 labelled frames: no retrain/);
    // A model whose owner wants covariate drift retrained whatever the error says.
    const eager = monitorConfigSchema.parse({ covariate: { retrainWhenErrorHolds: true } });
    expect(checkDrift(beige, moved, eager)).toMatchObject({ verdict: 'drift', kinds: ['covariate'] });
  });

  it('does not call a window drawn from one part of a mixed reference drift (a version trained on two floors)', () => {
    const twoFloors = profileOf(rng, [
      { centre: 50, frames: 1000 },
      { centre: 100, frames: 1000 },
    ]);
    const report = checkDrift(twoFloors, windowOf(rng, 300, { centre: 100 }), DEFAULT_MONITOR_CONFIG);
    // KS and Wasserstein see the difference; nothing lies outside what the version learned.
    expect(report.covariate!.features.hsv_s!.adjustedP).toBeLessThan(1e-10);
    expect(report.covariate!.features.hsv_s!.wasserstein).toBeGreaterThan(0.9);
    expect(report.verdict, report.summary).toBe('no-drift');
  });

  it('finds label shift when the laser reads beyond the trained range', () => {
    const report = checkDrift(beige, windowOf(rng, 300, { maxMm: 350 }), DEFAULT_MONITOR_CONFIG);
    expect(report.kinds).toEqual(['label']);
    expect(report.label!.outOfRangeShare).toBeGreaterThan(0.2);
    expect(report.label!.pValue).toBeLessThan(1e-6);
  });

  it('finds performance drift when the live error grows, and not for a small rise', () => {
    const worse = checkDrift(beige, windowOf(rng, 300, { errorSd: 15 }), DEFAULT_MONITOR_CONFIG);
    expect(worse.kinds).toEqual(['performance']);
    expect(worse.performance!.errorRatio).toBeGreaterThan(2.5);
    expect(worse.summary).toMatch(/PERFORMANCE DRIFT/);
    // 20% more error is significant on 300 frames, but under the 1.5x effect size: noise, not drift.
    const slightly = checkDrift(beige, windowOf(rng, 300, { errorSd: 6 }), DEFAULT_MONITOR_CONFIG);
    expect(slightly.performance!.drifted).toBe(false);
    expect(slightly.verdict).toBe('no-drift');
  });

  it('takes its thresholds from the model monitor config', () => {
    const strict = monitorConfigSchema.parse({ performance: { minErrorRatio: 1.1, minErrorIncreaseMm: 0.5 }, alpha: 0.05 });
    const report = checkDrift(beige, windowOf(rng, 2000, { errorSd: 6 }), strict);
    expect(report.kinds).toContain('performance');
  });
});

describe('monitorConfigSchema', () => {
  it('fills every default from {} and refuses what makes no sense', () => {
    expect(monitorConfigSchema.parse({ covariate: { minDriftedShare: 0.5 } }).covariate).toEqual({
      ...DEFAULT_MONITOR_CONFIG.covariate,
      minDriftedShare: 0.5,
    });
    expect(monitorConfigSchema.safeParse({ intervalSeconds: 1 }).success).toBe(false);
    expect(monitorConfigSchema.safeParse({ alpha: 0 }).success).toBe(false);
    expect(monitorConfigSchema.safeParse({ band: [40, 60] }).success).toBe(false);
  });
});
