import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import {
  DATASET_FORMAT_V2,
  labelsToBuffer,
  NotADatasetError,
  parseManifest,
  rangesOf,
  sha256,
  type AnyDatasetManifest,
  type DatasetManifestV2,
  type PackedSplit,
} from '../core/ml/dataset.js';
import { DEFAULT_DATASET_POLICY, frameHash, isTestFrame, selectRows, type DatasetPolicy } from '../core/ml/datasetPolicy.js';
import { CorruptRecordsError, forgetRecordsHead, readRecordRows } from '../core/ml/datasetRecords.js';
import { framePreprocessing } from '../core/ml/framePreprocessing.js';
import { clipLabel } from '../core/ml/labels.js';
import { PreprocessedFrames, type CacheFault, type FrameLocation, type PackRef } from '../core/ml/preprocessedFrames.js';
import { mapLimit } from '../core/mapLimit.js';
import { ObjectNotFoundError } from '../core/stores/objects.js';
import type { DatasetRow } from '../core/stores/measurements.js';
import { datasetKeys } from '../core/stores/objectKeys.js';
import type { ActivityContext } from './context.js';
import type { DatasetSummary } from '../workflows/trainAndRegister/contract.js';

export interface PreprocessInput {
  workflowId: string;
  runId: string;
  datasetKey: string;
  datasetSha256: string;
  width: number;
  height: number;
  labelMaxMm: number;
  testFraction: number;
  seed: number;
  /** Which records the dataset keeps; all when unset (and in runs recorded before policies). */
  datasetPolicy?: DatasetPolicy;
}

/** What the preprocessing cache did for a run's frames. */
export interface FrameCounts {
  /** Records the dataset policy kept. */
  selected: number;
  /** Frames found in the cache and used as they were. */
  cached: number;
  /** Frames decoded from their JPEG (new ones, and cached ones that could not be used). */
  decoded: number;
  /** Cached frames decoded again, by why the cached copy could not be used. */
  recomputed: Partial<Record<CacheFault, number>>;
}

export interface PreprocessResult extends DatasetSummary {
  /** Records left out, by reason (image missing or undecodable). */
  skipped: Record<string, number>;
  frames?: FrameCounts;
  bytes?: { read: number; written: number };
}

/** JPEGs fetched at once: fetches wait on the object store. */
const FETCH_CONCURRENCY = 8;

/**
 * Resizes the frames the dataset policy keeps to the model input (from the preprocessing cache, decoding only frames it
 * lacks), clips labels and splits train/test by a hash of each frame's image key, so a frame keeps its split across retrains.
 */
export const preprocess =
  ({ stores, mlBackend }: ActivityContext) =>
  async (input: PreprocessInput): Promise<PreprocessResult> => {
    const { objects } = stores;
    // Its thread (the JPEG graph's) starts with the first frame to decode.
    const frameMaker = framePreprocessing(mlBackend);
    const size = { width: input.width, height: input.height };
    const policy = input.datasetPolicy ?? DEFAULT_DATASET_POLICY;
    const records = await readRecordRows(objects, input.datasetKey).catch(async (err) => {
      if (!(err instanceof CorruptRecordsError)) throw err;
      // The next assembly of these deployments starts over from the measurement store instead of the bad segment.
      await forgetRecordsHead(objects, err.deployments);
      throw ApplicationFailure.nonRetryable(err.message, 'CorruptRecords');
    });
    const rows = selectRows(records.rows, policy);
    const bytes = { read: records.bytesRead, written: 0 };

    const cache = new PreprocessedFrames(objects, size, frameMaker.version);
    const packs = await cache.packs();
    const { locations, unreadable } = await cache.locate(packs);
    const faults = new Map<string, CacheFault>(unreadable.map((p) => [p.key, 'pack_keys_unreadable']));
    const wanted = new Map<string, PackRef>();
    for (const row of rows) {
      const found = locations.get(row.imageKey);
      if (found) wanted.set(found.pack.key, found.pack);
    }
    // Every pack the dataset names is read once here and checked: bad bytes are decoded again, never used.
    for (const [i, pack] of [...wanted.values()].entries()) {
      heartbeat({ checkingPack: i, of: wanted.size });
      const read = await cache.readPack(pack);
      if (typeof read === 'string') faults.set(pack.key, read);
    }

    const frames: FrameCounts = { selected: rows.length, cached: 0, decoded: 0, recomputed: {} };
    const placed = new Map<string, FrameLocation>();
    const toDecode: DatasetRow[] = [];
    for (const row of rows) {
      const found = locations.get(row.imageKey);
      const fault = found && faults.get(found.pack.key);
      if (found && !fault) {
        placed.set(row.imageKey, found);
        frames.cached++;
      } else {
        if (fault) frames.recomputed[fault] = (frames.recomputed[fault] ?? 0) + 1;
        toDecode.push(row);
      }
    }

    const skipped: Record<string, number> = {};
    const added: PackRef[] = [];
    const skip = (err: unknown) => {
      const reason = skipReason(err);
      skipped[reason] = (skipped[reason] ?? 0) + 1;
    };
    // Loading TensorFlow on the graph's thread takes seconds: meanwhile the first frames are fetched.
    if (toDecode.length > 0) frameMaker.prepare(size);
    try {
      for (let start = 0; start < toDecode.length; start += cache.framesPerPack) {
        const batch = toDecode.slice(start, start + cache.framesPerPack);
        const fetched = await mapLimit(batch, FETCH_CONCURRENCY, async (row, i) => {
          if (i % 100 === 0) heartbeat({ fetching: start + i, of: toDecode.length });
          try {
            const jpeg = await objects.get(row.imageKey);
            bytes.read += jpeg.byteLength;
            return { imageKey: row.imageKey, jpeg };
          } catch (err) {
            skip(err);
            return undefined;
          }
        });
        const found = fetched.filter((f) => f !== undefined);
        heartbeat({ decoding: start, of: toDecode.length });
        const pixels = await frameMaker.pixelsOf(
          found.map((f) => f.jpeg),
          size,
        );
        const usable = found.flatMap(({ imageKey }, i) => {
          const made = pixels[i];
          if (made instanceof Uint8Array) return [{ imageKey, pixels: made }];
          skip(made);
          return [];
        });
        if (usable.length === 0) continue;
        frames.decoded += usable.length;
        const pack = await cache.writePack(usable);
        usable.forEach((f, index) => placed.set(f.imageKey, { pack, index }));
        added.push(pack);
      }
    } finally {
      await frameMaker.close();
    }
    await cache.addToIndex(
      added,
      packs.filter((p) => faults.has(p.key)),
    );

    const usable = rows.filter((row) => placed.has(row.imageKey));
    if (usable.length < 2) {
      throw ApplicationFailure.nonRetryable(
        `only ${usable.length} usable frames in ${input.datasetKey} (skipped: ${JSON.stringify(skipped)})`,
        'TooFewFrames',
      );
    }
    const { train, test } = splitByHash(usable, input.seed, input.testFraction);
    const keys = datasetKeys(input.workflowId, input.runId);
    const writeSplit = async (name: 'train' | 'test', split: DatasetRow[]): Promise<PackedSplit> => {
      const { packs: packFrames, order } = packedOrder(split, placed);
      const labelBytes = labelsToBuffer(Float32Array.from(order, (row) => clipLabel(row.sensorValue, input.labelMaxMm)));
      const imageKeys = Buffer.from(JSON.stringify(order.map((row) => row.imageKey)));
      const files = { labelsKey: keys.labels(name), imageKeysKey: keys.imageKeys(name) };
      await objects.put(files.labelsKey, labelBytes, 'application/octet-stream');
      await objects.put(files.imageKeysKey, imageKeys, 'application/json');
      bytes.written += labelBytes.byteLength + imageKeys.byteLength;
      return { count: order.length, packs: packFrames, ...files, labelsSha256: sha256(labelBytes), imageKeysSha256: sha256(imageKeys) };
    };
    const manifest: DatasetManifestV2 = {
      format: DATASET_FORMAT_V2,
      width: input.width,
      height: input.height,
      channels: 3,
      labelMaxMm: input.labelMaxMm,
      seed: input.seed,
      testFraction: input.testFraction,
      policy,
      preprocessingVersion: frameMaker.version,
      split: 'frame-hash',
      test: await writeSplit('test', test),
      train: await writeSplit('train', train),
      source: {
        datasetKey: input.datasetKey,
        datasetSha256: input.datasetSha256,
        deployments: records.deployments,
        recordCount: records.rows.length,
      },
    };
    const body = Buffer.from(JSON.stringify(manifest, null, 2));
    const manifestKey = keys.manifest;
    await objects.put(manifestKey, body, 'application/json');
    bytes.read += cache.traffic.bytesRead;
    bytes.written += body.byteLength + cache.traffic.bytesWritten;
    return { ...summarizeManifest(manifestKey, body, manifest), skipped, frames, bytes };
  };

function skipReason(err: unknown): string {
  if (err instanceof ObjectNotFoundError) return 'image_missing';
  if ((err as { code?: string }).code === 'invalid_image') return 'image_invalid';
  throw err;
}

/**
 * Train and test by the hash of each frame's image key. Tiny datasets where the hashes put every frame on one side
 * move the frame nearest the threshold over, so both splits hold a frame.
 */
export function splitByHash(rows: DatasetRow[], seed: number, testFraction: number): { train: DatasetRow[]; test: DatasetRow[] } {
  const train: DatasetRow[] = [];
  const test: DatasetRow[] = [];
  for (const row of rows) (isTestFrame(row.imageKey, seed, testFraction) ? test : train).push(row);
  const byHash = (a: DatasetRow, b: DatasetRow) => frameHash(a.imageKey, seed) - frameHash(b.imageKey, seed);
  if (test.length === 0) test.push(train.sort(byHash).shift()!);
  if (train.length === 0) train.push(test.sort(byHash).pop()!);
  return { train, test };
}

/** A split's frames grouped by pack, in pack position order: the order its pixels, labels and image keys are stored in. */
function packedOrder(split: DatasetRow[], placed: Map<string, FrameLocation>) {
  const byPack = new Map<string, { pack: PackRef; members: { row: DatasetRow; index: number }[] }>();
  for (const row of split) {
    const { pack, index } = placed.get(row.imageKey)!;
    const group = byPack.get(pack.key) ?? { pack, members: [] };
    group.members.push({ row, index });
    byPack.set(pack.key, group);
  }
  const order: DatasetRow[] = [];
  const packs = [...byPack.values()].map(({ pack, members }) => {
    members.sort((a, b) => a.index - b.index);
    for (const m of members) order.push(m.row);
    return { key: pack.key, sha256: pack.sha256, ranges: rangesOf(members.map((m) => m.index)) };
  });
  return { packs, order };
}

function summarizeManifest(manifestKey: string, body: Buffer, manifest: AnyDatasetManifest): DatasetSummary {
  return {
    manifestKey,
    manifestSha256: sha256(body),
    trainCount: manifest.train.count,
    testCount: manifest.test.count,
    deployments: manifest.source.deployments,
    recordCount: manifest.source.recordCount,
  };
}

/** Reads an earlier run's dataset manifest (either format), for reruns of the experiment step on identical data. */
export const describeDataset =
  ({ stores }: ActivityContext) =>
  async (input: { manifestKey: string }): Promise<DatasetSummary & { width: number; height: number; labelMaxMm: number }> => {
    const body = await stores.objects.get(input.manifestKey).catch((err) => {
      if (err instanceof ObjectNotFoundError)
        throw ApplicationFailure.nonRetryable(`no dataset manifest at ${input.manifestKey}`, 'DatasetNotFound');
      throw err;
    });
    let manifest: AnyDatasetManifest;
    try {
      manifest = parseManifest(body, input.manifestKey);
    } catch (err) {
      if (err instanceof NotADatasetError) throw ApplicationFailure.nonRetryable(err.message, 'NotADataset');
      throw err;
    }
    return {
      ...summarizeManifest(input.manifestKey, body, manifest),
      width: manifest.width,
      height: manifest.height,
      labelMaxMm: manifest.labelMaxMm,
    };
  };
