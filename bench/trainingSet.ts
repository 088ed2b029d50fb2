/** Reading back the raw training sets bench/parkingFrames.ts writes, light enough for the measured child processes. */
import fs from 'node:fs/promises';
import { splitFromBuffers, type Split } from '../core/ml/dataset.js';
import type { DatasetFiles } from './parkingFrames.js';

/** The first `count` frames of a set `writeTrainingSet` wrote (all of them by default). */
export async function readTrainingSet(files: DatasetFiles, count = files.count): Promise<Split> {
  const all = splitFromBuffers(await fs.readFile(files.pixelsPath), await fs.readFile(files.labelsPath), files.width * files.height * 3);
  const kept = Math.min(count, all.count);
  return { pixels: all.pixels.subarray(0, kept * files.width * files.height * 3), labelsMm: all.labelsMm.subarray(0, kept), count: kept };
}
