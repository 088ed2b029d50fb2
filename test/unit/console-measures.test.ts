import { describe, expect, it } from 'vitest';
import { IMAGE_CHARACTERISTIC_FIELDS } from '../../core/features/fields.js';
import { NUMERIC_FIELDS } from '../../core/stores/measurements.js';
import { SERVING_CHANGE_REASONS } from '../../core/stores/registry.js';
import { CHARACTERISTIC_FIELDS, HISTOGRAM_FIELDS } from '../../console/src/fields.js';
import {
  REASON_LABELS,
  binShares,
  seriesQuery,
  sharedBinRange,
  sharedSeriesDomains,
  timeRange,
  timeline,
} from '../../console/src/measures.js';
import type { Annotation, ServingChange } from '../../console/src/wire.js';

describe("the console's field list", () => {
  it('offers the 22 image characteristics the measurement store keeps, in its order', () => {
    expect(CHARACTERISTIC_FIELDS.map((f) => f.field)).toEqual([...IMAGE_CHARACTERISTIC_FIELDS]);
  });
  it('offers only fields the histogram route takes', () => {
    for (const { field } of HISTOGRAM_FIELDS) expect([...NUMERIC_FIELDS, ...IMAGE_CHARACTERISTIC_FIELDS]).toContain(field);
  });
  it('names every serving change reason the registry records', () => {
    expect(Object.keys(REASON_LABELS).sort()).toEqual([...SERVING_CHANGE_REASONS].sort());
  });
});

describe('the series window', () => {
  it('keeps the same query between polls within one bucket and moves on by a bucket', () => {
    const hour = timeRange('1h');
    const t = Date.parse('2026-01-01T12:00:10Z');
    expect(seriesQuery(hour, t)).toEqual({ since: '2026-01-01T11:00:00.000Z', stepMs: 30_000 });
    expect(seriesQuery(hour, t + 15_000)).toEqual(seriesQuery(hour, t));
    expect(seriesQuery(hour, t + 25_000).since).toBe('2026-01-01T11:00:30.000Z');
  });
  it('falls back to the last hour for an unknown range', () => {
    expect(timeRange('forever').key).toBe('1h');
  });
});

describe('shared scales of two deployments', () => {
  const point = (meanPrediction: number | null, meanSensor: number | null, meanError: number | null) => ({
    time: '2026-01-01T00:00:00Z',
    frames: 1,
    meanPrediction,
    meanSensor,
    meanError,
  });
  it('spans both sides, the error from zero, and ignores empty buckets', () => {
    expect(sharedSeriesDomains([[point(100, 90, 10)], [point(null, null, null), point(300, 320, 25)]])).toEqual({
      mm: [90, 320],
      error: [0, 25],
    });
  });
  it('leaves the scales to the charts when neither side has data', () => {
    expect(sharedSeriesDomains([undefined, []])).toEqual({ mm: undefined, error: undefined });
  });
  it('bins both histograms over the union of the bins that hold frames', () => {
    const a = {
      field: 'error',
      bins: [
        { lower: 0, upper: 5, count: 3 },
        { lower: 5, upper: 10, count: 0 },
      ],
    };
    const b = {
      field: 'error',
      bins: [
        { lower: 2, upper: 8, count: 1 },
        { lower: 8, upper: 14, count: 2 },
      ],
    };
    expect(sharedBinRange([a, b])).toEqual({ min: 0, max: 14 });
    expect(sharedBinRange([{ field: 'error', bins: [{ lower: 0, upper: 1, count: 0 }] }, undefined])).toBeUndefined();
  });
  it('turns counts into shares of the frames', () => {
    const shares = binShares({
      field: 'error',
      bins: [
        { lower: 0, upper: 1, count: 1 },
        { lower: 1, upper: 2, count: 3 },
      ],
    });
    expect(shares.map((b) => b.share)).toEqual([25, 75]);
    expect(binShares({ field: 'error', bins: [{ lower: 0, upper: 1, count: 0 }] })[0].share).toBe(0);
  });
});

describe('the serving timeline', () => {
  it('interleaves serving changes and annotations, newest first', () => {
    const change = (id: number, at: string) => ({ id, at, reason: 'manual', summary: `change ${id}` }) as ServingChange;
    const note = (id: number, time: string) => ({ id, time, text: `note ${id}`, tags: [], deployment: null, by: 'demo' }) as Annotation;
    const entries = timeline([change(1, '2026-01-01T00:00:00Z'), change(2, '2026-01-01T00:02:00Z')], [note(7, '2026-01-01T00:01:00Z')]);
    expect(entries.map((e) => e.key)).toEqual(['c2', 'a7', 'c1']);
  });
});
