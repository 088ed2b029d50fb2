import { createHash } from 'node:crypto';
import { createRng } from '../random.js';
import type { ObjectStore } from '../stores/objects.js';
import type { DatasetPolicy } from './datasetPolicy.js';

/**
 * The preprocessed dataset: uint8 pixels and float32 labels (mm, already clipped) per split,
 * stored as raw little-endian binary next to a JSON manifest. Pixels are scaled to 0..1
 * when they become tensors, so the stored form stays 4x smaller than floats.
 *
 * v1 (runs before the preprocessing cache): each split's pixels in one file of the run.
 * v2: each split's pixels are references into immutable packs of the preprocessing cache
 * (core/ml/preprocessedFrames.ts), with the split's image keys and labels in files of the run.
 */
export const DATASET_FORMAT = 'mlops-dataset/v1';
export const DATASET_FORMAT_V2 = 'mlops-dataset/v2';

export interface SplitFiles {
  count: number;
  pixelsKey: string;
  pixelsSha256: string;
  labelsKey: string;
  labelsSha256: string;
}

export interface DatasetManifest {
  format: typeof DATASET_FORMAT;
  width: number;
  height: number;
  channels: 3;
  labelMaxMm: number;
  seed: number;
  testFraction: number;
  train: SplitFiles;
  test: SplitFiles;
  source: { datasetKey: string; datasetSha256: string; deployments: string[]; recordCount: number };
}

/** Frames of one pack in a split: [start, end) ranges of positions in the pack. */
export interface PackFrames {
  key: string;
  sha256: string;
  ranges: [number, number][];
}

/** A v2 split: its frames, in order, are the packs' ranges in order; labels and image keys follow that order. */
export interface PackedSplit {
  count: number;
  packs: PackFrames[];
  labelsKey: string;
  labelsSha256: string;
  /** JSON list of the frames' image keys: which frames the split holds. */
  imageKeysKey: string;
  imageKeysSha256: string;
}

export interface DatasetManifestV2 extends Omit<DatasetManifest, 'format' | 'train' | 'test'> {
  format: typeof DATASET_FORMAT_V2;
  policy: DatasetPolicy;
  preprocessingVersion: number;
  /** How the split was chosen: a frame is in test when sha256(`seed:imageKey`) falls below testFraction. */
  split: 'frame-hash';
  train: PackedSplit;
  test: PackedSplit;
}

export type AnyDatasetManifest = DatasetManifest | DatasetManifestV2;

export function parseManifest(body: Buffer, key: string): AnyDatasetManifest {
  const manifest = JSON.parse(body.toString('utf8')) as AnyDatasetManifest;
  if (manifest.format !== DATASET_FORMAT && manifest.format !== DATASET_FORMAT_V2) {
    throw new NotADatasetError(`${key} is not a ${DATASET_FORMAT} or ${DATASET_FORMAT_V2} manifest`);
  }
  return manifest;
}

export class NotADatasetError extends Error {
  readonly code = 'not_a_dataset';
}

export class CorruptDatasetError extends Error {
  readonly code = 'corrupt_dataset';
}

type SplitName = 'train' | 'test';

/** One split of a stored dataset in memory, whichever format; pack and label bytes are checked against the manifest's digests. */
export async function readSplit(objects: ObjectStore, manifest: AnyDatasetManifest, which: SplitName): Promise<Split> {
  return (await readSplits(objects, manifest, [which]))[which];
}

/**
 * Splits of a stored dataset in memory. A v2 pack that holds frames of several splits is fetched and checked once,
 * and each pack's bytes are let go once its frames are copied, so memory holds the splits and one pack.
 */
export async function readSplits<S extends SplitName>(
  objects: ObjectStore,
  manifest: AnyDatasetManifest,
  which: S[],
): Promise<Record<S, Split>> {
  const frameBytes = manifest.width * manifest.height * 3;
  const result = {} as Record<S, Split>;
  if (manifest.format === DATASET_FORMAT) {
    for (const name of which) {
      const files = manifest[name];
      result[name] = splitFromBuffers(await objects.get(files.pixelsKey), await objects.get(files.labelsKey), frameBytes);
    }
    return result;
  }
  // Where each pack's frames go: which split's pixels, from which frame on.
  const copies = new Map<string, { pack: PackFrames; into: { pixels: Buffer; at: number; ranges: [number, number][] }[] }>();
  const pixelsOf = new Map<S, Buffer>();
  for (const name of which) {
    const split = manifest[name];
    const pixels = Buffer.alloc(split.count * frameBytes);
    pixelsOf.set(name, pixels);
    let at = 0;
    for (const pack of split.packs) {
      const entry = copies.get(pack.key) ?? { pack, into: [] };
      entry.into.push({ pixels, at, ranges: pack.ranges });
      copies.set(pack.key, entry);
      at += pack.ranges.reduce((n, [start, end]) => n + end - start, 0);
    }
    if (at !== split.count) throw new CorruptDatasetError(`the ${name} split names ${at} frames, its count says ${split.count}`);
  }
  for (const { pack, into } of copies.values()) {
    const body = await objects.get(pack.key);
    if (sha256(body) !== pack.sha256) throw new CorruptDatasetError(`pack ${pack.key} does not match its sha256`);
    for (const { pixels, at, ranges } of into) {
      let frame = at;
      for (const [start, end] of ranges) {
        body.copy(pixels, frame * frameBytes, start * frameBytes, end * frameBytes);
        frame += end - start;
      }
    }
  }
  for (const name of which) {
    const split = manifest[name];
    const labels = await objects.get(split.labelsKey);
    if (sha256(labels) !== split.labelsSha256) throw new CorruptDatasetError(`labels ${split.labelsKey} do not match their sha256`);
    result[name] = splitFromBuffers(pixelsOf.get(name)!, labels, frameBytes);
  }
  return result;
}

/** Sorted positions as [start, end) ranges. */
export function rangesOf(positions: number[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const p of positions) {
    const last = ranges.at(-1);
    if (last && last[1] === p) last[1] = p + 1;
    else ranges.push([p, p + 1]);
  }
  return ranges;
}

export interface Split {
  pixels: Uint8Array;
  labelsMm: Float32Array;
  count: number;
}

export const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

export function labelsToBuffer(labelsMm: Float32Array): Buffer {
  return Buffer.from(labelsMm.buffer, labelsMm.byteOffset, labelsMm.byteLength);
}

export function splitFromBuffers(pixels: Buffer, labels: Buffer, frameBytes: number): Split {
  const count = labels.byteLength / 4;
  if (!Number.isInteger(count) || pixels.byteLength !== count * frameBytes) {
    throw new Error(`dataset split is inconsistent: ${pixels.byteLength} pixel bytes for ${count} labels of ${frameBytes} bytes each`);
  }
  // The slice copies the labels into their own 4-byte-aligned buffer (a Buffer's offset may be odd); pixels stay a view.
  const labelsMm = new Float32Array(labels.buffer.slice(labels.byteOffset, labels.byteOffset + labels.byteLength));
  return { pixels: new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength), labelsMm, count };
}

/** Deterministic Fisher-Yates permutation of 0..n-1 from a seed. */
export function seededPermutation(n: number, seed: number): number[] {
  const rng = createRng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** What a manifest says of its dataset for a person: input size, label clip, split and policy (null: v1, before policies). */
export function manifestFacts(manifest: AnyDatasetManifest) {
  return {
    width: manifest.width,
    height: manifest.height,
    labelMaxMm: manifest.labelMaxMm,
    seed: manifest.seed,
    testFraction: manifest.testFraction,
    trainCount: manifest.train.count,
    testCount: manifest.test.count,
    policy: manifest.format === DATASET_FORMAT_V2 ? manifest.policy : null,
  };
}
