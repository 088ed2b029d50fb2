import { createHash } from 'node:crypto';
import { createRng } from '../random.js';

/**
 * The preprocessed dataset: uint8 pixels and float32 labels (mm, already clipped) per split,
 * stored as raw little-endian binary next to a JSON manifest. Pixels are scaled to 0..1
 * when they become tensors, so the stored form stays 4x smaller than floats.
 */
export const DATASET_FORMAT = 'mlops-dataset/v1';

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
