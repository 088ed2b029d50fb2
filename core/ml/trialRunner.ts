import { openObjects } from '../stores/index.js';
import { loadBackend, type BackendPreference, type Tf } from './backend.js';
import {
  DATASET_FORMAT_V2,
  parseManifest,
  readSplit,
  readSplits,
  seededPermutation,
  type AnyDatasetManifest,
  type Split,
} from './dataset.js';
import { deserializeModel, getModelFiles, preprocessingOfVersion, putModel, serializeModel, type ModelMetadata } from './modelArtifact.js';
import type { TrialParams } from '../training/sweep.js';
import { deploymentMetrics } from '../training/distanceBands.js';
import type { ObjectStore } from '../stores/objects.js';
import { deploymentOfImageKey } from '../stores/objectKeys.js';
import { errorsMm, testMetricsOf, trainModel, type TrainingEngine } from './train.js';
import { TrialCheckpoints } from './trialCheckpoints.js';

/** Everything one trial needs, as keys: the runner reads and writes the object store itself. */
export interface TrialJob {
  objectsUrl: string;
  backend: BackendPreference;
  manifestKey: string;
  architecture: string;
  params: TrialParams;
  seed: number;
  /** Prefix under which the final model and the checkpoints are written; a checkpoint found there is resumed. */
  trialPrefix: string;
  /** Train in a TensorFlow graph where the backend and the architecture allow. */
  graph?: boolean;
  /** Hold `validationFraction` of the training frames out and stop after `patience` epochs without a better MAE on them. */
  earlyStopping?: EarlyStopping;
  /** A stored model of the same architecture and input to start from instead of fresh weights (when no checkpoint is resumed). */
  warmStartPrefix?: string;
}

export interface EarlyStopping {
  patience: number;
  validationFraction: number;
}

export interface TrialProgress {
  epoch: number;
  epochs: number;
  logs: Record<string, number>;
  checkpointPrefix: string;
}

export interface TrialOutcome {
  metrics: Record<string, number>;
  history: Record<string, number[]>;
  artifactKey: string;
  artifactSha256: string;
  backend: string;
  /** How the epochs ran: a TensorFlow training graph or tfjs's fit. */
  engine: TrainingEngine;
  resumedFromEpoch: number;
  /** Epochs this job trained (a resumed trial's earlier ones not counted). */
  epochsRun: number;
  /** Early stopping ended the trial before its epochs. */
  stoppedEarly: boolean;
  /** The stored model the trial started from (warm start), if any. */
  warmStartedFrom?: string;
  /** Wall seconds of the trial's stages in its process (the retrain benchmark's table). */
  seconds?: TrialStageSeconds;
}

export interface TrialStageSeconds {
  /** Loading the backend and reading the dataset's packs. */
  read: number;
  /** The epochs, checkpoints excluded. */
  epochs: number;
  /** Saving a checkpoint after every epoch. */
  checkpoints: number;
  /** The final errors on the test and train splits. */
  evaluate: number;
  /** Writing the trained model. */
  save: number;
}

export const modelPrefixOf = (trialPrefix: string) => `${trialPrefix}/model`;

/** Trains one trial from the stored dataset, checkpointing after every epoch and resuming from the last checkpoint. */
export async function runTrial(job: TrialJob, onProgress: (p: TrialProgress) => void): Promise<TrialOutcome> {
  const clock = stageClock();
  const { tf, name: backend } = await loadBackend(job.backend);
  const objects = await openObjects(job.objectsUrl);
  const manifest = parseManifest(await objects.get(job.manifestKey), job.manifestKey);
  const { train: stored, test } = await readSplits(objects, manifest, ['train', 'test']);
  const frameBytes = manifest.width * manifest.height * 3;
  const { train, validation } = job.earlyStopping
    ? holdOut(stored, job.earlyStopping.validationFraction, manifest.seed, frameBytes)
    : { train: stored, validation: undefined };
  const preprocessing = preprocessingOfVersion('preprocessingVersion' in manifest ? manifest.preprocessingVersion : undefined);
  const meta: ModelMetadata = {
    architecture: job.architecture,
    width: manifest.width,
    height: manifest.height,
    labelMaxMm: manifest.labelMaxMm,
    backend,
    ...(preprocessing && { preprocessing }),
  };
  const checkpoints = new TrialCheckpoints(objects, job.trialPrefix);

  let resume;
  const checkpoint = await checkpoints.latest();
  if (checkpoint) {
    const files = await getModelFiles(objects, checkpoint.prefix);
    resume = { model: (await deserializeModel(tf, files.modelJson, files.weights)).model, epochsDone: checkpoint.epochsDone };
  }
  const warmStart = !resume && job.warmStartPrefix ? await weightsOf(tf, objects, job.warmStartPrefix, meta) : undefined;

  const read = clock.lap();
  let checkpointSeconds = 0;
  const result = await trainModel(tf, {
    architecture: job.architecture,
    width: manifest.width,
    height: manifest.height,
    labelMaxMm: manifest.labelMaxMm,
    params: job.params,
    train,
    test,
    seed: job.seed,
    resume,
    initialWeights: warmStart?.weights,
    validation,
    earlyStopping: job.earlyStopping,
    graph: job.graph,
    onEpochEnd: async (epoch, logs, model) => {
      const started = performance.now();
      const saved = await checkpoints.save(epoch + 1, await serializeModel(tf, model, meta, { includeOptimizer: true }));
      checkpointSeconds += (performance.now() - started) / 1000;
      onProgress({ epoch: epoch + 1, epochs: job.params.epochs, logs, checkpointPrefix: saved.prefix });
    },
  });
  const trained = clock.lap();
  const byDeployment = deploymentMetrics(await testDeploymentsOf(objects, manifest, test.count), result.testErrors);
  tf.dispose(warmStart?.weights ?? []);
  const serialized = await serializeModel(tf, result.model, meta);
  const artifactKey = modelPrefixOf(job.trialPrefix);
  await putModel(objects, artifactKey, serialized);
  result.model.dispose();
  await objects.close();
  const save = clock.lap();
  return {
    metrics: { ...result.metrics, ...byDeployment },
    history: result.history,
    artifactKey,
    artifactSha256: serialized.sha256,
    backend,
    engine: result.engine,
    resumedFromEpoch: resume?.epochsDone ?? 0,
    epochsRun: result.epochsRun,
    stoppedEarly: result.stoppedEarly,
    ...(warmStart ? { warmStartedFrom: job.warmStartPrefix } : {}),
    seconds: {
      read,
      epochs: trained - checkpointSeconds - result.evaluateSeconds,
      checkpoints: checkpointSeconds,
      evaluate: result.evaluateSeconds,
      save,
    },
  };
}

/**
 * The training frames split in two by a seeded shuffle (the dataset's seed, so every trial of a sweep holds out the same
 * frames): `fraction` of them, at least one, for validation, the rest to train on.
 */
export function holdOut(split: Split, fraction: number, seed: number, frameBytes: number): { train: Split; validation: Split } {
  const order = seededPermutation(split.count, seed);
  const held = Math.min(split.count - 1, Math.max(1, Math.round(split.count * fraction)));
  const pick = (indices: number[]): Split => {
    const pixels = new Uint8Array(indices.length * frameBytes);
    indices.forEach((from, to) => pixels.set(split.pixels.subarray(from * frameBytes, (from + 1) * frameBytes), to * frameBytes));
    return { pixels, labelsMm: Float32Array.from(indices, (i) => split.labelsMm[i]), count: indices.length };
  };
  // Ascending order keeps the training frames in the order the split stored them.
  return { validation: pick(order.slice(0, held).sort((a, b) => a - b)), train: pick(order.slice(held).sort((a, b) => a - b)) };
}

/** A stored model's weights; undefined (a fresh start) unless it has the trial's architecture and input size. */
async function weightsOf(tf: Tf, objects: ObjectStore, prefix: string, want: { architecture: string; width: number; height: number }) {
  const files = await getModelFiles(objects, prefix);
  const { model, metadata } = await deserializeModel(tf, files.modelJson, files.weights);
  try {
    if (metadata.architecture !== want.architecture || metadata.width !== want.width || metadata.height !== want.height) {
      console.warn(
        `no warm start from ${prefix}: ${metadata.architecture} ${metadata.width}x${metadata.height}, the trial trains ${want.architecture} ${want.width}x${want.height}`,
      );
      return undefined;
    }
    return { weights: model.getWeights().map((w) => w.clone()) };
  } finally {
    model.dispose();
  }
}

/** Seconds since the last lap (or since the clock started). */
function stageClock() {
  let last = performance.now();
  return {
    lap() {
      const now = performance.now();
      const seconds = (now - last) / 1000;
      last = now;
      return seconds;
    },
  };
}

/** The deployment of each frame of a dataset's test split, in its order; all null for a v1 dataset, which does not name its frames. */
async function testDeploymentsOf(objects: ObjectStore, manifest: AnyDatasetManifest, count: number): Promise<(string | null)[]> {
  if (manifest.format !== DATASET_FORMAT_V2) return new Array<null>(count).fill(null);
  const keys = JSON.parse((await objects.get(manifest.test.imageKeysKey)).toString('utf8')) as string[];
  return keys.map(deploymentOfImageKey);
}

export interface EvaluationJob {
  objectsUrl: string;
  backend: BackendPreference;
  manifestKey: string;
  modelPrefix: string;
}

/** A stored model and a stored dataset's test split, read for measuring the model on it. */
async function loadForTest(job: EvaluationJob) {
  const { tf } = await loadBackend(job.backend);
  const objects = await openObjects(job.objectsUrl);
  const manifest = parseManifest(await objects.get(job.manifestKey), job.manifestKey);
  const files = await getModelFiles(objects, job.modelPrefix);
  const { model, metadata } = await deserializeModel(tf, files.modelJson, files.weights);
  if (metadata.width !== manifest.width || metadata.height !== manifest.height) {
    throw new Error(`model input ${metadata.width}x${metadata.height} differs from dataset ${manifest.width}x${manifest.height}`);
  }
  const test = await readSplit(objects, manifest, 'test');
  const release = async () => {
    model.dispose();
    await objects.close();
  };
  return { tf, objects, model, metadata, manifest, test, release };
}

/** Error in mm of a stored model on a stored dataset's test split (preprocessed at the model's own input size), overall and by band. */
export async function evaluateStoredModel(job: EvaluationJob): Promise<Record<string, number>> {
  const { tf, objects, model, metadata, manifest, test, release } = await loadForTest(job);
  try {
    const errors = await errorsMm(tf, model, test, manifest.height, manifest.width, metadata.labelMaxMm);
    return {
      ...testMetricsOf(errors, test.labelsMm),
      ...deploymentMetrics(await testDeploymentsOf(objects, manifest, test.count), errors),
    };
  } finally {
    await release();
  }
}

export interface PairedTestErrors {
  /** The test frames' labels (laser readings, mm, clipped as stored). */
  labelsMm: number[];
  /** Each test frame's deployment (null: the dataset does not name its frames). */
  deployments: (string | null)[];
  /** Each version's absolute error on the same frames, in the same order. */
  current: number[];
  candidate: number[];
}

/** Two stored models' errors on the same frames of a stored dataset's test split, in one job (the split is read once). */
export async function pairedTestErrorsOfStoredModels(job: EvaluationJob & { candidatePrefix: string }): Promise<PairedTestErrors> {
  const { tf, objects, model, metadata, manifest, test, release } = await loadForTest(job);
  try {
    const current = await errorsMm(tf, model, test, manifest.height, manifest.width, metadata.labelMaxMm);
    const files = await getModelFiles(objects, job.candidatePrefix);
    const candidateModel = await deserializeModel(tf, files.modelJson, files.weights);
    try {
      const candidate = await errorsMm(tf, candidateModel.model, test, manifest.height, manifest.width, candidateModel.metadata.labelMaxMm);
      return {
        labelsMm: Array.from(test.labelsMm),
        deployments: await testDeploymentsOf(objects, manifest, test.count),
        current: Array.from(current),
        candidate: Array.from(candidate),
      };
    } finally {
      candidateModel.model.dispose();
    }
  } finally {
    await release();
  }
}

/** The absolute error in mm of a stored model on every frame of a stored dataset's test split. */
export async function testErrorsOfStoredModel(job: EvaluationJob): Promise<number[]> {
  const { tf, model, metadata, manifest, test, release } = await loadForTest(job);
  try {
    return Array.from(await errorsMm(tf, model, test, manifest.height, manifest.width, metadata.labelMaxMm));
  } finally {
    await release();
  }
}
