import { describe, expect, it } from 'vitest';
import { checkDrift, checkDriftOfSummary, type DriftWindow } from '../../core/drift/driftCheck.js';
import type { DriftReport } from '../../core/drift/driftReport.js';
import { DEFAULT_MONITOR_CONFIG } from '../../core/drift/monitorConfig.js';
import { referenceProfileOf, type ReferenceProfile } from '../../core/drift/referenceProfile.js';
import {
  decodeSummary,
  encodeSummary,
  mergeEncodedInto,
  mergeInto,
  emptySummary,
  subtractFrom,
  summaryOfWindow,
} from '../../core/drift/windowSummary.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';
import { createRng, type Rng } from '../../core/random.js';

/** Characteristics around `centre`; `whole` rounds them, as keypoint and edge counts are. */
const frame = (rng: Rng, centre: number, maxMm: number, whole: boolean) => ({
  sensorValue: rng.uniform(0, maxMm),
  characteristics: Object.fromEntries(
    IMAGE_CHARACTERISTIC_FIELDS.map((f, i) => {
      const x = i * 100 + rng.gaussian(centre, 5);
      return [f, whole ? Math.round(x) : x];
    }),
  ) as ImageCharacteristics,
});

function profileOf(rng: Rng, whole: boolean): ReferenceProfile {
  return referenceProfileOf({
    modelName: 'm',
    version: 1,
    source: { manifestKey: 'k', workflowId: 'w', runId: 'r' },
    rows: Array.from({ length: 5000 }, () => frame(rng, 50, 250, whole)),
    labelMaxMm: 350,
    testErrorsMm: Array.from({ length: 1000 }, () => Math.abs(rng.gaussian(0, 5))),
  });
}

function windowOf(rng: Rng, frames: number, whole: boolean, { centre = 50, maxMm = 250, errorSd = 5 } = {}): DriftWindow {
  const rows = Array.from({ length: frames }, () => frame(rng, centre, maxMm, whole));
  return {
    frames,
    windowStart: 1000,
    windowEnd: 1000 + frames * 250,
    features: Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f) => [f, Float64Array.from(rows.map((r) => r.characteristics[f]))])),
    labels: Float64Array.from(rows.map((r) => r.sensorValue)),
    errors: Float64Array.from(rows, () => Math.abs(rng.gaussian(0, errorSd))),
  };
}

/** The stated tolerances of the summary path against the raw one (core/drift/summaryStatistics.ts says why). */
const TOLERANCE = { ks: 0.002, wasserstein: 0.01, psi: 1e-9, log10P: 1, medianMm: 0.1 };

/** Largest differences seen, printed at the end. */
const seen = { ks: 0, wasserstein: 0, psi: 0, outside: 0, pValue: 0, meanMm: 0, medianMm: 0 };

const near = (a: number, b: number) => Math.abs(a - b);
/**
 * p-values compared where a decision can turn on them (below 0.05), in orders of magnitude; above that a KS gap
 * 0.001 smaller moves a p of 0.9 by a few hundredths, which decides nothing.
 */
const pDiff = (a: number, b: number) =>
  Math.min(a, b) >= 0.05 ? 0 : near(Math.log10(Math.max(a, 1e-300)), Math.log10(Math.max(b, 1e-300)));

function expectAgreement(raw: DriftReport, summary: DriftReport, what: string) {
  expect(summary.verdict, `${what}: ${summary.summary} vs ${raw.summary}`).toBe(raw.verdict);
  expect(summary.kinds, what).toEqual(raw.kinds);
  expect(summary.windowFrames).toBe(raw.windowFrames);
  expect([summary.windowStart, summary.windowEnd]).toEqual([raw.windowStart, raw.windowEnd]);
  if (!raw.covariate) return;
  expect(summary.covariate!.driftedFeatures, what).toEqual(raw.covariate.driftedFeatures);
  for (const [field, r] of Object.entries(raw.covariate.features)) {
    const s = summary.covariate!.features[field as keyof typeof raw.covariate.features]!;
    // The summary sees the gap at every grid value: never more than the raw distance, at most a cell's share less.
    expect(s.ks).toBeLessThanOrEqual(r.ks + 1e-12);
    seen.ks = Math.max(seen.ks, near(s.ks, r.ks));
    seen.wasserstein = Math.max(seen.wasserstein, near(s.wasserstein, r.wasserstein) / Math.max(1, r.wasserstein));
    seen.psi = Math.max(seen.psi, near(s.psi, r.psi));
    seen.outside = Math.max(seen.outside, near(s.outsideShare, r.outsideShare));
    seen.pValue = Math.max(seen.pValue, pDiff(s.adjustedP, r.adjustedP));
  }
  if (raw.label) {
    expect(summary.label!.outOfRangeShare).toBeCloseTo(raw.label.outOfRangeShare, 12);
    seen.ks = Math.max(seen.ks, near(summary.label!.ks, raw.label.ks));
    seen.wasserstein = Math.max(seen.wasserstein, near(summary.label!.wasserstein, raw.label.wasserstein));
    seen.pValue = Math.max(seen.pValue, pDiff(summary.label!.pValue, raw.label.pValue));
  }
  if (raw.performance) {
    seen.meanMm = Math.max(seen.meanMm, near(summary.performance!.liveMeanErrorMm, raw.performance.liveMeanErrorMm));
    seen.medianMm = Math.max(seen.medianMm, near(summary.performance!.liveMedianErrorMm, raw.performance.liveMedianErrorMm));
    seen.pValue = Math.max(seen.pValue, pDiff(summary.performance!.pValue, raw.performance.pValue));
  }
}

describe('drift summaries', () => {
  const cases = [
    { name: 'in distribution', frames: 300 },
    { name: 'in distribution, a full window', frames: 38_400 },
    { name: 'slightly moved', frames: 5_000, centre: 52 },
    { name: 'moved away', frames: 5_000, centre: 80 },
    { name: 'beyond the trained range', frames: 2_000, maxMm: 350 },
    { name: 'a larger error', frames: 2_000, errorSd: 15 },
    { name: 'a slightly larger error', frames: 2_000, errorSd: 6 },
  ];

  it.each([false, true])(
    'give the raw window’s verdicts and statistics, within the stated tolerance (whole-number features: %s)',
    (whole) => {
      const rng = createRng(whole ? 8 : 7);
      const profile = profileOf(rng, whole);
      for (const { name, frames, ...shape } of cases) {
        for (let repeat = 0; repeat < 3; repeat++) {
          const window = windowOf(rng, frames, whole, shape);
          const raw = checkDrift(profile, window, DEFAULT_MONITOR_CONFIG);
          const summary = checkDriftOfSummary(profile, summaryOfWindow(profile, window), DEFAULT_MONITOR_CONFIG);
          expectAgreement(raw, summary, name);
        }
      }
      console.log(`[drift summaries] largest differences from the raw path (whole-number features: ${whole}): ${JSON.stringify(seen)}`);
      expect(seen.ks).toBeLessThanOrEqual(TOLERANCE.ks);
      expect(seen.wasserstein).toBeLessThanOrEqual(TOLERANCE.wasserstein);
      expect(seen.psi).toBeLessThanOrEqual(TOLERANCE.psi);
      expect(seen.outside).toBeLessThanOrEqual(1e-12);
      expect(seen.pValue).toBeLessThanOrEqual(TOLERANCE.log10P);
      expect(seen.meanMm).toBeLessThanOrEqual(1e-9);
      expect(seen.medianMm).toBeLessThanOrEqual(TOLERANCE.medianMm);
    },
  );

  it('merge by adding: two halves merged, in either order, are the summary of the whole; a part subtracted leaves the rest', () => {
    const rng = createRng(11);
    const profile = profileOf(rng, true);
    const window = windowOf(rng, 4000, true, { centre: 55 });
    const half = (from: number, to: number): DriftWindow => ({
      frames: to - from,
      windowStart: window.windowStart! + from * 250,
      windowEnd: window.windowStart! + (to - 1) * 250,
      features: Object.fromEntries(Object.entries(window.features).map(([f, v]) => [f, v.subarray(from, to)])),
      labels: window.labels.subarray(from, to),
      errors: window.errors.subarray(from, to),
    });
    const whole = summaryOfWindow(profile, { ...window, windowEnd: window.windowStart! + 3999 * 250 });
    const first = summaryOfWindow(profile, half(0, 1500));
    const second = summaryOfWindow(profile, half(1500, 4000));
    const counts = (s: typeof whole) =>
      JSON.parse(encodeSummary(s), (key, value) => (typeof value === 'number' ? Math.round(value * 1e6) / 1e6 : value));
    const merged = mergeInto(mergeInto(emptySummary(), decodeSummary(encodeSummary(second))), decodeSummary(encodeSummary(first)));
    expect(counts(merged)).toEqual(counts(whole));
    expect(counts(mergeInto(mergeInto(emptySummary(), first), second))).toEqual(counts(whole));
    const rest = subtractFrom(mergeInto(emptySummary(), whole), first);
    const restCounts = counts(rest);
    expect({ ...restCounts, start: null, end: null }).toEqual({ ...counts(second), start: null, end: null });
    expect(checkDriftOfSummary(profile, merged, DEFAULT_MONITOR_CONFIG)).toEqual(
      checkDriftOfSummary(profile, whole, DEFAULT_MONITOR_CONFIG),
    );
    // Stored rows merged for a check add into dense arrays: the same report, and a part subtracted from them the same rest.
    const dense = mergeEncodedInto(mergeEncodedInto(emptySummary(), encodeSummary(second), profile), encodeSummary(first), profile);
    expect(checkDriftOfSummary(profile, dense, DEFAULT_MONITOR_CONFIG)).toEqual(
      checkDriftOfSummary(profile, merged, DEFAULT_MONITOR_CONFIG),
    );
    const denseRest = subtractFrom(mergeEncodedInto(emptySummary(), encodeSummary(whole), profile), first);
    expect(checkDriftOfSummary(profile, { ...denseRest, windowStart: null, windowEnd: null }, DEFAULT_MONITOR_CONFIG)).toEqual(
      checkDriftOfSummary(profile, { ...rest, windowStart: null, windowEnd: null }, DEFAULT_MONITOR_CONFIG),
    );
  });
});
