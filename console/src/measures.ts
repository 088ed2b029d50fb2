/** Pure helpers of the Deployment and Compare pages: time windows, shared scales, the serving timeline. */
import { useState } from 'preact/hooks';
import type { Annotation, HistogramAnswer, SeriesPoint, ServingChange } from './wire.js';

export interface TimeRange {
  key: string;
  label: string;
  ms: number;
  /** The series' bucket: about a hundred buckets per range. */
  stepMs: number;
}

export const TIME_RANGES: TimeRange[] = [
  { key: '15m', label: 'last 15 minutes', ms: 15 * 60_000, stepMs: 10_000 },
  { key: '1h', label: 'last hour', ms: 60 * 60_000, stepMs: 30_000 },
  { key: '6h', label: 'last 6 hours', ms: 6 * 60 * 60_000, stepMs: 3 * 60_000 },
  { key: '24h', label: 'last 24 hours', ms: 24 * 60 * 60_000, stepMs: 10 * 60_000 },
];

export const timeRange = (key: string | null | undefined) => TIME_RANGES.find((r) => r.key === key) ?? TIME_RANGES[1];

/**
 * The range a page shows, kept in its link as `?range=15m` (as Grafana keeps its time range in the URL): a link or a
 * reload shows the same window. Replacing the history entry changes no route, so the page is not remounted.
 */
export function useTimeRange(query: URLSearchParams): [TimeRange, (range: TimeRange) => void] {
  const [range, setRange] = useState(() => timeRange(query.get('range')));
  const choose = (next: TimeRange) => {
    setRange(next);
    const [path, search = ''] = location.hash.split('?', 2);
    const params = new URLSearchParams(search);
    params.set('range', next.key);
    history.replaceState(null, '', `${path}?${params}`);
  };
  return [range, choose];
}

/**
 * The series query of a range ending now. `since` is rounded down to the bucket, so the path (and the buckets) stay
 * the same between polls and move on one bucket at a time.
 */
export function seriesQuery(range: TimeRange, now: number): { since: string; stepMs: number } {
  const since = Math.floor((now - range.ms) / range.stepMs) * range.stepMs;
  return { since: new Date(since).toISOString(), stepMs: range.stepMs };
}

/** The span of every finite value given, or undefined when there is none (a chart then picks its own). */
export function extent(values: Iterable<number | null | undefined>): [number, number] | undefined {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v == null || !Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) return undefined;
  return min === max ? [min - 1, max + 1] : [min, max];
}

/** The y spans two deployments' series share: prediction and laser together, and the error from zero. */
export function sharedSeriesDomains(sides: (SeriesPoint[] | undefined)[]): { mm?: [number, number]; error?: [number, number] } {
  const points = sides.flatMap((s) => s ?? []);
  const mm = extent(points.flatMap((p) => [p.meanPrediction, p.meanSensor]));
  const error = extent(points.map((p) => p.meanError));
  return { mm, error: error && [0, Math.max(error[1], 1)] };
}

/** The bounds a histogram of both sides asks for, from each side's own bins (left out: nothing to bin yet). */
export function sharedBinRange(sides: (HistogramAnswer | undefined)[]): { min: number; max: number } | undefined {
  const bins = sides.flatMap((s) => s?.bins ?? []).filter((b) => b.count > 0);
  const span = extent(bins.flatMap((b) => [b.lower, b.upper]));
  return span && { min: span[0], max: span[1] };
}

/** Each bin's share of the frames, in %: two deployments with different traffic compare by shape. */
export function binShares(answer: HistogramAnswer): { lower: number; upper: number; count: number; share: number }[] {
  const total = answer.bins.reduce((sum, b) => sum + b.count, 0);
  return answer.bins.map((b) => ({ ...b, share: total ? (100 * b.count) / total : 0 }));
}

export type TimelineEntry =
  | { kind: 'change'; time: string; key: string; change: ServingChange }
  | { kind: 'annotation'; time: string; key: string; annotation: Annotation };

/** Serving changes and annotations in one list, newest first. */
export function timeline(history: ServingChange[], annotations: Annotation[]): TimelineEntry[] {
  const entries: TimelineEntry[] = [
    ...history.map((change) => ({ kind: 'change' as const, time: change.at, key: `c${change.id}`, change })),
    ...annotations.map((annotation) => ({ kind: 'annotation' as const, time: annotation.time, key: `a${annotation.id}`, annotation })),
  ];
  return entries.sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || a.key.localeCompare(b.key));
}

/** What a serving change's reason reads as in the timeline. */
export const REASON_LABELS: Record<ServingChange['reason'], string> = {
  created: 'created',
  manual: 'manual pin',
  registration: 'registration',
  rollback: 'rollback',
  'rollout-shadow': 'rollout: shadow',
  'rollout-canary': 'rollout: canary',
  'rollout-promoted': 'rollout promoted',
  'rollout-rolled-back': 'rollout rolled back',
  'rollout-ab': 'rollout: A/B',
  'rollout-bandit': 'rollout: bandit rovers',
};
