import type { LayersModel } from '@tensorflow/tfjs';
import type { ObjectStore } from '../stores/objects.js';
import type { Tf } from './backend.js';
import { sha256 } from './dataset.js';

/**
 * How a model's training frames were made from their JPEGs, so serving makes its inputs the same way:
 * 'graph-v1' is TensorFlow's decode and resize (core/ml/tfGraph/jpegGraph.ts), served from JPEG bytes by one graph.
 * Models saved without it were trained on sharp's pixels (core/ml/imagePixels.ts imageToPixels) and serve from those.
 */
export const GRAPH_PREPROCESSING = 'graph-v1';
export type Preprocessing = typeof GRAPH_PREPROCESSING;

/**
 * The preprocessing version (cache key of core/ml/preprocessedFrames.ts, a dataset manifest's preprocessingVersion)
 * of frames made by the JPEG graph. Version 1 (imagePixels.ts PREPROCESSING_VERSION) is sharp's.
 */
export const GRAPH_PREPROCESSING_VERSION = 2;

/** What a model trained on a dataset of this preprocessing version records in its metadata. */
export const preprocessingOfVersion = (version: number | undefined): Preprocessing | undefined =>
  version === GRAPH_PREPROCESSING_VERSION ? GRAPH_PREPROCESSING : undefined;

/** What travels with every saved model so serving preprocesses exactly as training did. */
export interface ModelMetadata {
  architecture: string;
  width: number;
  height: number;
  labelMaxMm: number;
  backend: string;
  /** Unset: sharp's pixels (every model saved before the JPEG graph). */
  preprocessing?: Preprocessing;
}

export interface SerializedModel {
  modelJson: Buffer;
  weights: Buffer;
  sha256: string;
}

function joinWeightData(data: ArrayBuffer | ArrayBuffer[]): Buffer {
  return Array.isArray(data) ? Buffer.concat(data.map((b) => Buffer.from(b))) : Buffer.from(data);
}

/**
 * `includeOptimizer` (checkpoints) also saves the training config and the optimizer's state, so
 * a resumed trial continues with Adam's moments instead of restarting them.
 */
export async function serializeModel(
  tf: Tf,
  model: LayersModel,
  metadata: ModelMetadata,
  options: { includeOptimizer?: boolean } = {},
): Promise<SerializedModel> {
  let captured: import('@tensorflow/tfjs').io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer: options.includeOptimizer ?? false },
  );
  if (!captured?.weightData || !captured.weightSpecs) throw new Error('model serialization produced no weights');
  const weights = joinWeightData(captured.weightData as ArrayBuffer | ArrayBuffer[]);
  const modelJson = Buffer.from(
    JSON.stringify({
      metadata,
      modelTopology: captured.modelTopology,
      ...(options.includeOptimizer ? { trainingConfig: captured.trainingConfig } : {}),
      weightSpecs: captured.weightSpecs,
      format: 'layers-model',
    }),
  );
  return { modelJson, weights, sha256: sha256(Buffer.concat([modelJson, weights])) };
}

export async function deserializeModel(
  tf: Tf,
  modelJson: Buffer,
  weights: Buffer,
): Promise<{ model: LayersModel; metadata: ModelMetadata }> {
  const parsed = JSON.parse(modelJson.toString('utf8'));
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: parsed.modelTopology,
      trainingConfig: parsed.trainingConfig,
      weightSpecs: parsed.weightSpecs,
      weightData,
    }),
  );
  return { model, metadata: parsed.metadata as ModelMetadata };
}

/** A saved model is two objects under one prefix; its key is the prefix. */
const modelKeys = (prefix: string) => ({ modelJson: `${prefix}/model.json`, weights: `${prefix}/weights.bin` });

export async function putModel(objects: ObjectStore, prefix: string, serialized: SerializedModel): Promise<void> {
  const keys = modelKeys(prefix);
  await objects.put(keys.weights, serialized.weights, 'application/octet-stream');
  await objects.put(keys.modelJson, serialized.modelJson, 'application/json');
}

/** A saved model's two objects as stored. */
export type ModelFiles = Omit<SerializedModel, 'sha256'>;

/** A saved model's objects, unhashed (whoever deserializes them checks them against the registered sha256). */
export async function fetchModelFiles(objects: ObjectStore, prefix: string): Promise<ModelFiles> {
  const keys = modelKeys(prefix);
  const [modelJson, weights] = await Promise.all([objects.get(keys.modelJson), objects.get(keys.weights)]);
  return { modelJson, weights };
}

export async function getModelFiles(objects: ObjectStore, prefix: string): Promise<SerializedModel> {
  const { modelJson, weights } = await fetchModelFiles(objects, prefix);
  return { modelJson, weights, sha256: sha256(Buffer.concat([modelJson, weights])) };
}

/** The metadata of a saved model, without loading its weights. */
export async function getModelMetadata(objects: ObjectStore, prefix: string): Promise<ModelMetadata> {
  return (JSON.parse((await objects.get(modelKeys(prefix).modelJson)).toString('utf8')) as { metadata: ModelMetadata }).metadata;
}

export async function deleteModel(objects: ObjectStore, prefix: string): Promise<void> {
  const keys = modelKeys(prefix);
  await Promise.all([objects.delete(keys.modelJson), objects.delete(keys.weights)]);
}
