import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristicField } from '../features/fields.js';
import { clipLabel } from '../ml/labels.js';
import type { DriftWindow } from './driftWindow.js';
import type { ReferenceProfile } from './referenceProfile.js';
import type { ReferenceSketch } from './referenceSketch.js';

/**
 * A drift window as counts over the serving version's own reference grid instead of raw values, so windows of any
 * size cost the same to keep, store and check, and two summaries of the same version merge by adding.
 *
 * Each stream (an image characteristic, the clipped laser labels, the errors) is counted in the cells its reference
 * sketch's quantiles cut: below the minimum, at each distinct quantile value (a point mass where quantiles tie, as
 * on whole-number features), strictly between neighbouring distinct quantiles, above the maximum. The sketch itself
 * is uniform between neighbouring quantiles, so reading a cell's values as spread evenly across it is as exact as
 * the reference's own resolution (1/1000 of its frames per cell with 1001 quantiles). Outside the reference's range
 * the sum of the values is kept too, which makes the Wasserstein distance exact there.
 */
export interface StreamCounts {
  /** Values counted. */
  n: number;
  sum: number;
  /** Sums of the values below the reference's minimum and above its maximum. */
  belowSum: number;
  aboveSum: number;
  /** Values more than LABEL_RANGE_TOLERANCE of the reference's range outside it (the label check's out-of-range share). */
  outOfRange: number;
  /** Cell index (see cellOf) to count; cells with no values are absent. */
  cells: Map<number, number>;
  /** When set, the counts of every cell of the grid instead of `cells` (a window merged from many rows for a check). */
  dense?: Float64Array;
}

export interface WindowSummary {
  frames: number;
  windowStart: number | null;
  windowEnd: number | null;
  features: Partial<Record<ImageCharacteristicField, StreamCounts>>;
  /** Laser readings of the labelled frames, clipped to the model's range as the reference's are. */
  labels: StreamCounts;
  /** |prediction - laser| of the frames that have both (mm). */
  errors: StreamCounts;
}

/** Readings this far outside the reference's label range, as a share of the range, still count as inside it. */
export const LABEL_RANGE_TOLERANCE = 0.02;

/** A sketch's grid: its distinct quantile values and, for each, the first and last quantile index holding it. */
export interface SketchGrid {
  values: Float64Array;
  first: Int32Array;
  last: Int32Array;
  /** Index of the cell above the maximum (the last cell). */
  aboveCell: number;
}

const grids = new WeakMap<ReferenceSketch, SketchGrid>();

export function gridOf(sketch: ReferenceSketch): SketchGrid {
  const cached = grids.get(sketch);
  if (cached) return cached;
  const q = sketch.quantiles;
  const values: number[] = [];
  const first: number[] = [];
  const last: number[] = [];
  for (let i = 0; i < q.length; i++) {
    if (values.length > 0 && q[i] === values[values.length - 1]) last[last.length - 1] = i;
    else {
      values.push(q[i]);
      first.push(i);
      last.push(i);
    }
  }
  const grid = {
    values: Float64Array.from(values),
    first: Int32Array.from(first),
    last: Int32Array.from(last),
    aboveCell: 2 * values.length,
  };
  grids.set(sketch, grid);
  return grid;
}

/**
 * Cell 0: below the minimum; 2k + 1: equal to distinct value k; 2k + 2: strictly between values k and k + 1;
 * 2K (K distinct values): above the maximum.
 */
export function cellOf(grid: SketchGrid, x: number): number {
  const u = grid.values;
  let low = 0;
  let high = u.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (u[mid] <= x) low = mid + 1;
    else high = mid;
  }
  const k = low - 1;
  if (k < 0) return 0;
  if (u[k] === x) return 2 * k + 1;
  return 2 * k + 2;
}

export function emptyStream(): StreamCounts {
  return { n: 0, sum: 0, belowSum: 0, aboveSum: 0, outOfRange: 0, cells: new Map() };
}

export function emptySummary(): WindowSummary {
  return { frames: 0, windowStart: null, windowEnd: null, features: {}, labels: emptyStream(), errors: emptyStream() };
}

/** Counts one finite value of a stream against its reference sketch. */
export function countValue(stream: StreamCounts, sketch: ReferenceSketch, x: number): void {
  const grid = gridOf(sketch);
  const cell = cellOf(grid, x);
  stream.n++;
  stream.sum += x;
  if (cell === 0) stream.belowSum += x;
  else if (cell === grid.aboveCell) stream.aboveSum += x;
  const tolerance = LABEL_RANGE_TOLERANCE * Math.max(sketch.max - sketch.min, 1);
  if (x > sketch.max + tolerance || x < sketch.min - tolerance) stream.outOfRange++;
  stream.cells.set(cell, (stream.cells.get(cell) ?? 0) + 1);
}

/** One frame as a summary counts it: only what a drift check reads. */
export interface SummarisedFrame {
  time: number;
  /** Image characteristics; null or missing fields are not counted. */
  characteristics: Partial<Record<ImageCharacteristicField, number>> | null;
  /** A valid laser reading (mm, unclipped), or null: none, or invalid. */
  label: number | null;
  error: number | null;
}

/** Adds one frame to a summary of the version whose profile this is. */
export function countFrame(summary: WindowSummary, profile: ReferenceProfile, frame: SummarisedFrame): void {
  summary.frames++;
  if (summary.windowStart === null || frame.time < summary.windowStart) summary.windowStart = frame.time;
  if (summary.windowEnd === null || frame.time > summary.windowEnd) summary.windowEnd = frame.time;
  if (frame.characteristics) {
    for (const field of IMAGE_CHARACTERISTIC_FIELDS) {
      const sketch = profile.features[field];
      const x = frame.characteristics[field];
      if (!sketch || x == null || !Number.isFinite(x)) continue;
      countValue((summary.features[field] ??= emptyStream()), sketch, x);
    }
  }
  if (frame.label !== null && Number.isFinite(frame.label))
    countValue(summary.labels, profile.labels, clipLabel(frame.label, profile.labels.labelMaxMm));
  if (frame.error !== null && Number.isFinite(frame.error)) countValue(summary.errors, profile.testErrors, frame.error);
}

/** A raw drift window's summary (the summary path's counterpart of the same frames; tests and benchmarks compare them). */
export function summaryOfWindow(profile: ReferenceProfile, window: DriftWindow): WindowSummary {
  const summary = emptySummary();
  summary.frames = window.frames;
  summary.windowStart = window.windowStart;
  summary.windowEnd = window.windowEnd;
  for (const field of IMAGE_CHARACTERISTIC_FIELDS) {
    const sketch = profile.features[field];
    const values = window.features[field];
    if (!sketch || !values || values.length === 0) continue;
    const stream = (summary.features[field] = emptyStream());
    for (const x of values) countValue(stream, sketch, x);
  }
  for (const x of window.labels) countValue(summary.labels, profile.labels, clipLabel(x, profile.labels.labelMaxMm));
  for (const x of window.errors) countValue(summary.errors, profile.testErrors, x);
  return summary;
}

function addStream(into: StreamCounts, from: StreamCounts, sign: 1 | -1): void {
  into.n += sign * from.n;
  into.sum += sign * from.sum;
  into.belowSum += sign * from.belowSum;
  into.aboveSum += sign * from.aboveSum;
  into.outOfRange += sign * from.outOfRange;
  for (const [cell, count] of from.cells) {
    const next = (into.cells.get(cell) ?? 0) + sign * count;
    if (next > 0) into.cells.set(cell, next);
    else into.cells.delete(cell);
  }
}

/** Adds `from` into `into` (counts add: merging is exact, whatever the order). */
export function mergeInto(into: WindowSummary, from: WindowSummary): WindowSummary {
  into.frames += from.frames;
  if (from.windowStart !== null && (into.windowStart === null || from.windowStart < into.windowStart)) into.windowStart = from.windowStart;
  if (from.windowEnd !== null && (into.windowEnd === null || from.windowEnd > into.windowEnd)) into.windowEnd = from.windowEnd;
  for (const field of IMAGE_CHARACTERISTIC_FIELDS) {
    const stream = from.features[field];
    if (stream) addStream((into.features[field] ??= emptyStream()), stream, 1);
  }
  addStream(into.labels, from.labels, 1);
  addStream(into.errors, from.errors, 1);
  return into;
}

/**
 * Takes `part` (frames that are in `from`, such as a suspect rover's) out of `from`. A cell never goes below zero:
 * frames of the part that a summary does not hold yet (not flushed) take nothing away.
 */
export function subtractFrom(from: WindowSummary, part: WindowSummary): WindowSummary {
  from.frames = Math.max(0, from.frames - part.frames);
  for (const field of IMAGE_CHARACTERISTIC_FIELDS) {
    const stream = part.features[field];
    const own = from.features[field];
    if (stream && own) settle(own, stream);
  }
  settle(from.labels, part.labels);
  settle(from.errors, part.errors);
  return from;
}

function settle(own: StreamCounts, part: StreamCounts): void {
  if (own.dense) {
    const dense = own.dense;
    own.sum -= part.sum;
    own.belowSum -= part.belowSum;
    own.aboveSum -= part.aboveSum;
    own.outOfRange = Math.max(0, own.outOfRange - part.outOfRange);
    for (const [cell, count] of part.cells) dense[cell] = Math.max(0, dense[cell] - count);
    let total = 0;
    for (let i = 0; i < dense.length; i++) total += dense[i];
    own.n = total;
    if (total === 0) Object.assign(own, emptyStream(), { dense: undefined });
    return;
  }
  addStream(own, part, -1);
  let n = 0;
  for (const count of own.cells.values()) n += count;
  own.n = n;
  own.outOfRange = Math.max(0, own.outOfRange);
  if (n === 0) Object.assign(own, emptyStream());
}

// ---------------------------------------------------------------------------------------------------------------
// JSON: what a measurement store keeps per minute and writer

/**
 * [n, sum, belowSum, aboveSum, outOfRange, ...cells]: sparse, `cell, count, cell, count, ...` in ascending order; or,
 * when at least a third of the cells between the first and the last are counted, dense, `-1 - first, count, count, ...` (a count per cell
 * from the first on), which is then shorter (a sparse cell takes about 8 characters, a dense one 2 or 3).
 */
type EncodedStream = number[];

interface EncodedSummary {
  v: 1;
  frames: number;
  start: number | null;
  end: number | null;
  features: Partial<Record<ImageCharacteristicField, EncodedStream>>;
  labels: EncodedStream;
  errors: EncodedStream;
}

function encodeStream(s: StreamCounts): EncodedStream {
  const out = [s.n, s.sum, s.belowSum, s.aboveSum, s.outOfRange];
  const cells = [...s.cells.keys()].sort((a, b) => a - b);
  if (cells.length === 0) return out;
  const first = cells[0];
  const span = cells[cells.length - 1] - first + 1;
  if (cells.length * 3 > span) {
    out.push(-1 - first);
    for (let cell = first; cell < first + span; cell++) out.push(s.cells.get(cell) ?? 0);
  } else for (const cell of cells) out.push(cell, s.cells.get(cell)!);
  return out;
}

/** Calls `add(cell, count)` for every counted cell of an encoded stream. */
function forEachEncodedCell(e: EncodedStream, add: (cell: number, count: number) => void): void {
  if (e.length > 5 && e[5] < 0) {
    const first = -1 - e[5];
    for (let i = 6; i < e.length; i++) if (e[i] !== 0) add(first + i - 6, e[i]);
  } else for (let i = 5; i < e.length; i += 2) add(e[i], e[i + 1]);
}

function decodeStream(e: EncodedStream): StreamCounts {
  const cells = new Map<number, number>();
  forEachEncodedCell(e, (cell, count) => cells.set(cell, count));
  return { n: e[0], sum: e[1], belowSum: e[2], aboveSum: e[3], outOfRange: e[4], cells };
}

export function encodeSummary(summary: WindowSummary): string {
  const encoded: EncodedSummary = {
    v: 1,
    frames: summary.frames,
    start: summary.windowStart,
    end: summary.windowEnd,
    features: {},
    labels: encodeStream(summary.labels),
    errors: encodeStream(summary.errors),
  };
  for (const field of IMAGE_CHARACTERISTIC_FIELDS) {
    const stream = summary.features[field];
    if (stream) encoded.features[field] = encodeStream(stream);
  }
  return JSON.stringify(encoded);
}

/**
 * Adds a stored summary to a window being merged for a check, each stream's cells into one dense array over its
 * sketch's grid: many rows merge at the cost of adding arrays, without building a map per row.
 */
export function mergeEncodedInto(into: WindowSummary, text: string, profile: ReferenceProfile): WindowSummary {
  const encoded = JSON.parse(text) as EncodedSummary;
  if (encoded.v !== 1) throw new Error(`drift summary format ${String(encoded.v)} is not known here`);
  into.frames += encoded.frames;
  if (encoded.start !== null && (into.windowStart === null || encoded.start < into.windowStart)) into.windowStart = encoded.start;
  if (encoded.end !== null && (into.windowEnd === null || encoded.end > into.windowEnd)) into.windowEnd = encoded.end;
  const add = (stream: StreamCounts, sketch: ReferenceSketch, e: EncodedStream) => {
    const dense = (stream.dense ??= new Float64Array(gridOf(sketch).aboveCell + 1));
    stream.n += e[0];
    stream.sum += e[1];
    stream.belowSum += e[2];
    stream.aboveSum += e[3];
    stream.outOfRange += e[4];
    if (e.length > 5 && e[5] < 0) {
      const first = -1 - e[5];
      for (let i = 6; i < e.length; i++) dense[first + i - 6] += e[i];
    } else for (let i = 5; i < e.length; i += 2) dense[e[i]] += e[i + 1];
  };
  for (const field of IMAGE_CHARACTERISTIC_FIELDS) {
    const e = encoded.features[field];
    const sketch = profile.features[field];
    if (e && sketch) add((into.features[field] ??= emptyStream()), sketch, e);
  }
  add(into.labels, profile.labels, encoded.labels);
  add(into.errors, profile.testErrors, encoded.errors);
  return into;
}

export function decodeSummary(text: string): WindowSummary {
  const encoded = JSON.parse(text) as EncodedSummary;
  if (encoded.v !== 1) throw new Error(`drift summary format ${String(encoded.v)} is not known here`);
  const features: WindowSummary['features'] = {};
  for (const field of IMAGE_CHARACTERISTIC_FIELDS) {
    const stream = encoded.features[field];
    if (stream) features[field] = decodeStream(stream);
  }
  return {
    frames: encoded.frames,
    windowStart: encoded.start,
    windowEnd: encoded.end,
    features,
    labels: decodeStream(encoded.labels),
    errors: decodeStream(encoded.errors),
  };
}
