import type { LayersModel } from '@tensorflow/tfjs';
import type { ObjectStore } from '../stores/objects.js';
import type { Tf } from './backend.js';
import { sha256 } from './dataset.js';

/** What travels with every saved model so serving preprocesses exactly as training did. */
export interface ModelMetadata {
  architecture: string;
  width: number;
  height: number;
  labelMaxMm: number;
  backend: string;
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
export async function serializeModel(tf: Tf, model: LayersModel, metadata: ModelMetadata, options: { includeOptimizer?: boolean } = {}): Promise<SerializedModel> {
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

export async function deserializeModel(tf: Tf, modelJson: Buffer, weights: Buffer): Promise<{ model: LayersModel; metadata: ModelMetadata }> {
  const parsed = JSON.parse(modelJson.toString('utf8'));
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: parsed.modelTopology, trainingConfig: parsed.trainingConfig, weightSpecs: parsed.weightSpecs, weightData }),
  );
  return { model, metadata: parsed.metadata as ModelMetadata };
}

/** A saved model is two objects under one prefix; its key is the prefix. */
export async function putModel(objects: ObjectStore, prefix: string, serialized: SerializedModel): Promise<void> {
  await objects.put(`${prefix}/weights.bin`, serialized.weights, 'application/octet-stream');
  await objects.put(`${prefix}/model.json`, serialized.modelJson, 'application/json');
}

export async function getModelFiles(objects: ObjectStore, prefix: string): Promise<SerializedModel> {
  const [modelJson, weights] = await Promise.all([objects.get(`${prefix}/model.json`), objects.get(`${prefix}/weights.bin`)]);
  return { modelJson, weights, sha256: sha256(Buffer.concat([modelJson, weights])) };
}
