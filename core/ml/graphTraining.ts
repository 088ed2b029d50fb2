import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { Tf } from './backend.js';
import { seededPermutation } from './dataset.js';
import { UnsupportedModelError } from './tfGraph/graphDef.js';
import { encodeGraphSavedModel, SERVING_TAG } from './tfGraph/savedModel.js';
import { trainingGraph, type AdamSettings, type OptimizerStart } from './tfGraph/trainingGraph.js';

export { UnsupportedModelError };

/** A layers model's training step running as one TensorFlow graph in a session that keeps its weights and training set. */
export interface GraphTrainer {
  /** Puts the training set in the session: frames as uint8 [count, height, width, 3], labels in the model's 0..1. */
  load(pixels: Uint8Array, labels: Float32Array, chunkFrames?: number): void;
  /** One Adam step on the loaded frames at these indices; the batch's loss and mean absolute error before the step. */
  step(indices: Int32Array): { loss: Tensor; mae: Tensor };
  /** Copies the session's weights into the model, and Adam's state into its optimizer (for checkpoints and evaluation). */
  copyTo(model: LayersModel): Promise<void>;
  dispose(): void;
}

/** Frames copied into the session at once: the int32 copy tfjs needs on the way stays small. */
const LOAD_CHUNK_FRAMES = 256;

type SavedModel = { predict(x: Tensor | Tensor[] | Record<string, Tensor>): Tensor | Tensor[] | Record<string, Tensor>; dispose(): void };
type NodeTf = Tf & { node?: { loadSavedModel(dir: string, tags?: string[], signature?: string): Promise<SavedModel> } };
type AdamWithState = {
  iterations: number;
  setWeights(weights: { name: string; tensor: Tensor }[]): Promise<void>;
  getWeights(): Promise<{ name: string; tensor: Tensor }[]>;
};

/** Adam's settings of a compiled model's optimizer, with Keras's defaults where tfjs leaves them unset. */
export function adamSettingsOf(model: LayersModel): AdamSettings {
  const config = model.optimizer.getConfig() as Record<string, number>;
  if (model.optimizer.getClassName() !== 'Adam')
    throw new UnsupportedModelError(`the training graph runs Adam only, not ${model.optimizer.getClassName()}`);
  if (!['meanSquaredError', 'mse'].includes(String(model.loss)))
    throw new UnsupportedModelError(`the training graph minimises the mean squared error only, not ${String(model.loss)}`);
  return { learningRate: config.learningRate, beta1: config.beta1 ?? 0.9, beta2: config.beta2 ?? 0.999, epsilon: config.epsilon ?? 1e-7 };
}

/** Adam's step count and moments as the model's optimizer holds them (a resumed checkpoint's), by weight name. */
async function optimizerStartOf(model: LayersModel): Promise<OptimizerStart> {
  const optimizer = model.optimizer as unknown as AdamWithState;
  const saved = await optimizer.getWeights();
  const moments = saved.slice(1);
  if (moments.length === 0) return { iterations: optimizer.iterations };
  const names = model.trainableWeights.map((w) => w.originalName);
  if (moments.length !== names.length * 2) throw new Error(`optimizer holds ${moments.length} moments for ${names.length} weights`);
  return {
    iterations: optimizer.iterations,
    moments: new Map(
      names.map((name, i) => [
        name,
        { first: moments[i].tensor.dataSync() as Float32Array, second: moments[names.length + i].tensor.dataSync() as Float32Array },
      ]),
    ),
  };
}

/**
 * Builds the training graph of a compiled layers model (Adam, mean squared error) and loads it in a TensorFlow
 * session through tfjs-node, starting from the model's weights and its optimizer's state. Throws
 * UnsupportedModelError for a layer or activation the graph cannot express; the caller then trains with fit.
 */
export async function compileForTraining(tf: Tf, model: LayersModel, seed: number): Promise<GraphTrainer> {
  const node = (tf as NodeTf).node;
  if (!node) throw new Error('graph training needs tfjs-node');
  const graph = trainingGraph(model, adamSettingsOf(model), await optimizerStartOf(model), seed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-training-graph-'));
  let init: SavedModel, allocate: SavedModel, write: SavedModel, train: SavedModel, state: SavedModel;
  try {
    fs.writeFileSync(path.join(dir, 'saved_model.pb'), encodeGraphSavedModel(graph.nodes, graph.signatures));
    // One session serves every signature of the same directory and tags (tfjs-node shares it).
    [init, allocate, write, train, state] = await Promise.all(
      (['init', 'allocate', 'write', 'train', 'state'] as const).map((signature) => node.loadSavedModel(dir, [SERVING_TAG], signature)),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  tf.dispose(Object.values(init.predict({}) as Record<string, Tensor>));

  return {
    load(pixels, labels, chunkFrames = LOAD_CHUNK_FRAMES) {
      const count = labels.length;
      const frameShape = graph.signatures.write.inputs.frames.shape.slice(1);
      const frameBytes = frameShape.reduce((a, b) => a * b, 1);
      if (pixels.length !== count * frameBytes)
        throw new Error(`${pixels.length} pixel bytes for ${count} frames of [${frameShape.join(', ')}]`);
      const run = (signature: SavedModel, inputs: Record<string, Tensor>) => {
        try {
          tf.dispose(Object.values(signature.predict(inputs) as Record<string, Tensor>));
        } finally {
          tf.dispose(Object.values(inputs));
        }
      };
      run(allocate, { framesShape: tf.tensor1d([count, ...frameShape], 'int32'), labelsShape: tf.tensor1d([count, 1], 'int32') });
      for (let start = 0; start < count; start += chunkFrames) {
        const end = Math.min(start + chunkFrames, count);
        run(write, {
          at: tf.range(start, end, 1, 'int32'),
          // tfjs has no uint8 tensors: the frames travel as int32 and the signature's DT_UINT8 makes them bytes again.
          frames: tf.tensor(pixels.subarray(start * frameBytes, end * frameBytes), [end - start, ...frameShape], 'int32'),
          labels: tf.tensor2d(labels.subarray(start, end), [end - start, 1]),
        });
      }
    },
    step(indices) {
      const batch = tf.tensor1d(indices, 'int32');
      try {
        const out = train.predict({ indices: batch }) as Record<string, Tensor>;
        return { loss: out.loss, mae: out.mae };
      } finally {
        batch.dispose();
      }
    },
    async copyTo(target) {
      const out = state.predict({}) as Record<string, Tensor>;
      const optimizer = target.optimizer as unknown as AdamWithState;
      const replaced = (await optimizer.getWeights()).map((w) => w.tensor);
      const steps = tf.scalar(Math.round(out['adam/iterations'].dataSync()[0]), 'int32');
      const snapshot = (name: string) => {
        if (!out[name]) throw new Error(`the training graph has no ${name}`);
        return out[name];
      };
      try {
        // tfjs takes the tensors by reference (a new reference each), so all of them are disposed here after.
        target.setWeights(target.weights.map((w) => snapshot(w.originalName)));
        const moments = (suffix: 'm' | 'v') =>
          target.trainableWeights.map((w) => ({ name: `${w.originalName}/${suffix}`, tensor: snapshot(`${w.originalName}/${suffix}`) }));
        await optimizer.setWeights([{ name: 'iter', tensor: steps }, ...moments('m'), ...moments('v')]);
      } finally {
        tf.dispose([...Object.values(out), steps, ...replaced]);
      }
    },
    dispose() {
      for (const saved of [init, allocate, write, train, state]) saved.dispose();
    },
  };
}

export interface GraphFitOptions {
  epochs: number;
  /** Epochs already done (a resumed checkpoint's): training runs from this one to `epochs`. */
  initialEpoch: number;
  batchSize: number;
  /** Seeds the dropout masks and each epoch's order of the frames. */
  seed: number;
  /** After each epoch, with the model holding that epoch's weights and Adam state: the mean loss and MAE of its batches. Resolves true to stop there. */
  onEpochEnd: (epoch: number, logs: { loss: number; mae: number }) => Promise<boolean | void>;
}

/**
 * What `model.fit(x, y, {shuffle: true})` does for trainModel, in a training graph: every epoch visits the frames in a
 * seeded order, batch by batch, and reports the batch-size-weighted mean loss and MAE. Only the epoch's means are read
 * back from TensorFlow, not each batch's.
 */
export async function fitInGraph(
  tf: Tf,
  model: LayersModel,
  pixels: Uint8Array,
  labels: Float32Array,
  options: GraphFitOptions,
): Promise<void> {
  const trainer = await compileForTraining(tf, model, options.seed);
  try {
    trainer.load(pixels, labels);
    const count = labels.length;
    for (let epoch = options.initialEpoch; epoch < options.epochs; epoch++) {
      const order = Int32Array.from(seededPermutation(count, options.seed * 1000 + epoch));
      const weighted: Tensor[] = [];
      for (let start = 0; start < count; start += options.batchSize) {
        const indices = order.subarray(start, Math.min(start + options.batchSize, count));
        const { loss, mae } = trainer.step(indices);
        weighted.push(tf.tidy(() => tf.stack([loss, mae]).mul(indices.length)));
        tf.dispose([loss, mae]);
      }
      const sums = tf.tidy(() => tf.addN(weighted));
      const [loss, mae] = Array.from(await sums.data(), (sum) => sum / count);
      tf.dispose([sums, ...weighted]);
      await trainer.copyTo(model);
      if (await options.onEpochEnd(epoch, { loss, mae })) break;
    }
  } finally {
    trainer.dispose();
  }
}
