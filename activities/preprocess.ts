import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import { DATASET_FORMAT, labelsToBuffer, seededPermutation, sha256, type DatasetManifest } from '../core/ml/dataset.js';
import { imageToPixels } from '../core/ml/imagePixels.js';
import { clipLabel } from '../core/ml/labels.js';
import { ObjectNotFoundError } from '../core/stores/objects.js';
import type { DatasetRow } from '../core/stores/measurements.js';
import { datasetKeys } from '../core/stores/objectKeys.js';
import type { ActivityContext } from './context.js';

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
}

export interface DatasetSummary {
  manifestKey: string;
  manifestSha256: string;
  trainCount: number;
  testCount: number;
  deployments: string[];
  recordCount: number;
}

export interface PreprocessResult extends DatasetSummary {
  /** Records left out, by reason (image missing or undecodable). */
  skipped: Record<string, number>;
}

/** Resizes every frame to the model input, clips labels, shuffles with a seed and splits train/test into binary files. */
export const preprocess =
  ({ stores }: ActivityContext) =>
  async (input: PreprocessInput): Promise<PreprocessResult> => {
    const { objects } = stores;
    const records = JSON.parse((await objects.get(input.datasetKey)).toString('utf8')) as { deployments: string[]; rows: DatasetRow[] };
    const frameBytes = input.width * input.height * 3;
    const frames: Uint8Array[] = [];
    const labels: number[] = [];
    const skipped: Record<string, number> = {};
    for (const [i, row] of records.rows.entries()) {
      try {
        frames.push(await imageToPixels(await objects.get(row.imageKey), input));
        labels.push(clipLabel(row.sensorValue, input.labelMaxMm));
      } catch (err) {
        const reason =
          err instanceof ObjectNotFoundError
            ? 'image_missing'
            : (err as { code?: string }).code === 'invalid_image'
              ? 'image_invalid'
              : undefined;
        if (!reason) throw err;
        skipped[reason] = (skipped[reason] ?? 0) + 1;
      }
      if (i % 100 === 0) heartbeat({ processed: i, of: records.rows.length });
    }
    if (frames.length < 2) {
      throw ApplicationFailure.nonRetryable(
        `only ${frames.length} usable frames in ${input.datasetKey} (skipped: ${JSON.stringify(skipped)})`,
        'TooFewFrames',
      );
    }

    const order = seededPermutation(frames.length, input.seed);
    const testCount = Math.max(1, Math.round(frames.length * input.testFraction));
    const keys = datasetKeys(input.workflowId, input.runId);
    const writeSplit = async (name: 'train' | 'test', indices: number[]) => {
      const pixels = Buffer.alloc(indices.length * frameBytes);
      const labelsMm = new Float32Array(indices.length);
      indices.forEach((src, dst) => {
        pixels.set(frames[src], dst * frameBytes);
        labelsMm[dst] = labels[src];
      });
      const labelBytes = labelsToBuffer(labelsMm);
      const files = { count: indices.length, pixelsKey: keys.pixels(name), labelsKey: keys.labels(name) };
      heartbeat({ writing: files.pixelsKey });
      await objects.put(files.pixelsKey, pixels, 'application/octet-stream');
      await objects.put(files.labelsKey, labelBytes, 'application/octet-stream');
      return { ...files, pixelsSha256: sha256(pixels), labelsSha256: sha256(labelBytes) };
    };
    const manifest: DatasetManifest = {
      format: DATASET_FORMAT,
      width: input.width,
      height: input.height,
      channels: 3,
      labelMaxMm: input.labelMaxMm,
      seed: input.seed,
      testFraction: input.testFraction,
      test: await writeSplit('test', order.slice(0, testCount)),
      train: await writeSplit('train', order.slice(testCount)),
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
    return { ...summarizeManifest(manifestKey, body, manifest), skipped };
  };

function summarizeManifest(manifestKey: string, body: Buffer, manifest: DatasetManifest): DatasetSummary {
  return {
    manifestKey,
    manifestSha256: sha256(body),
    trainCount: manifest.train.count,
    testCount: manifest.test.count,
    deployments: manifest.source.deployments,
    recordCount: manifest.source.recordCount,
  };
}

/** Reads an earlier run's dataset manifest, for reruns of the experiment step on identical data. */
export const describeDataset =
  ({ stores }: ActivityContext) =>
  async (input: { manifestKey: string }): Promise<DatasetSummary & { width: number; height: number; labelMaxMm: number }> => {
    const body = await stores.objects.get(input.manifestKey).catch((err) => {
      if (err instanceof ObjectNotFoundError)
        throw ApplicationFailure.nonRetryable(`no dataset manifest at ${input.manifestKey}`, 'DatasetNotFound');
      throw err;
    });
    const manifest = JSON.parse(body.toString('utf8')) as DatasetManifest;
    if (manifest.format !== DATASET_FORMAT)
      throw ApplicationFailure.nonRetryable(`${input.manifestKey} is not a ${DATASET_FORMAT} manifest`, 'NotADataset');
    return {
      ...summarizeManifest(input.manifestKey, body, manifest),
      width: manifest.width,
      height: manifest.height,
      labelMaxMm: manifest.labelMaxMm,
    };
  };
