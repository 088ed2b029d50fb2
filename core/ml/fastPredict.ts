import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LayersModel, Tensor, Tensor4D } from '@tensorflow/tfjs';
import type { Tf } from './backend.js';
import { sha256 } from './dataset.js';
import { layersToGraph, UnsupportedModelError } from './tfGraph/layersToGraph.js';
import { encodeSavedModel, SERVING_SIGNATURE, SERVING_TAG } from './tfGraph/savedModel.js';

/** Bumped whenever layersToGraph or encodeSavedModel write a different graph for the same artifact. */
const GRAPH_FORMAT = 'g1';

export interface ServingPredictor {
  /**
   * 'graph': the model as one frozen TensorFlow graph, run in one session call (tfjs-node only).
   * 'layers': the layers model itself, op by op (the fallback, on any backend).
   */
  readonly path: 'graph' | 'layers';
  /** Why the graph path is not in use, when it is not. */
  readonly fallbackReason?: string;
  /** The SavedModel the graph path runs (for logs). */
  readonly savedModelDir?: string;
  /** Model outputs, [batch, 1], for float32 frames [batch, height, width, 3] scaled as in training. The caller disposes both. */
  predict(x: Tensor4D): Tensor;
  /**
   * Frees the session (graph path). The layers model stays the caller's: on the graph path it is not
   * used after compiling and may be disposed then; on the layers path it must outlive the predictor.
   */
  dispose(): void;
}

export class ServingInputError extends Error {
  readonly code = 'bad_input';
  constructor(message: string) {
    super(message);
    this.name = 'ServingInputError';
  }
}

export interface CompileOptions {
  /**
   * The registered artifact's sha256: the exported graph is cached under it, so a version compiled
   * before (by this process or another) loads without exporting again. Without it the cache key is
   * the export's own hash.
   */
  artifactSha256?: string;
  /**
   * Where exported SavedModels are kept across processes, e.g. under the data folder. TensorFlow runs
   * whatever graph it finds there, so it must be writable by this user only. Default: a folder of
   * this process's own (mode 0700) in the OS temp folder, removed when the process exits.
   */
  cacheDir?: string;
  /** Run the layers model even where a graph could run (a setting's escape hatch). */
  layersOnly?: boolean;
}

export type SavedModel = { predict(x: Tensor): Tensor | Tensor[]; dispose(): void };
export type NodeTf = Tf & { node?: { loadSavedModel(dir: string, tags?: string[], signature?: string): Promise<SavedModel> } };

function checkInput(x: Tensor4D, frameShape: number[]) {
  if (x.dtype !== 'float32' || x.rank !== 4 || x.shape.slice(1).some((d, i) => d !== frameShape[i]))
    throw new ServingInputError(`expected float32 frames [batch, ${frameShape.join(', ')}], got ${x.dtype} [${x.shape.join(', ')}]`);
}

/** Writes saved_model.pb into `dir` unless it is there; a rename makes it appear whole or not at all. */
export function writeSavedModelOnce(dir: string, bytes: () => Uint8Array) {
  if (fs.existsSync(path.join(dir, 'saved_model.pb'))) return;
  const staging = `${dir}.${randomUUID()}.tmp`;
  fs.mkdirSync(staging, { recursive: true });
  try {
    fs.writeFileSync(path.join(staging, 'saved_model.pb'), bytes());
    fs.renameSync(staging, dir);
  } catch (err) {
    if (!fs.existsSync(path.join(dir, 'saved_model.pb'))) throw err;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

let processCacheDir: string | undefined;

export function ownCacheDir(): string {
  if (!processCacheDir || !fs.existsSync(processCacheDir)) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-serving-graphs-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    processCacheDir = dir;
  }
  return processCacheDir;
}

async function loadGraph(tf: NodeTf, model: LayersModel, options: CompileOptions): Promise<{ saved: SavedModel; dir: string }> {
  const cacheDir = options.cacheDir ?? ownCacheDir();
  let encoded: Uint8Array | undefined;
  const encode = () => (encoded ??= encodeSavedModel(layersToGraph(model)));
  const key = options.artifactSha256 ?? sha256(encode());
  const dir = path.join(cacheDir, `mlops-serving-graph-${GRAPH_FORMAT}-${key}`);
  writeSavedModelOnce(dir, encode);
  return { saved: await tf.node!.loadSavedModel(dir, [SERVING_TAG], SERVING_SIGNATURE), dir };
}

/** Outputs of the graph and of the layers model may differ by float rounding (TensorFlow fuses some ops in a graph), no more. */
export const MAX_ABS_DIFFERENCE = 1e-5;

/**
 * Runs the graph once on one frame and once on two (its first calls build the executor and its
 * buffers: about 0.3 s for the thesis CNN, paid here instead of by a request) and returns the
 * largest difference from the layers model's outputs on the same seeded noise.
 */
export function differenceFromLayers(tf: Tf, model: LayersModel, saved: SavedModel, frameShape: number[]): number {
  const { util } = tf;
  return tf.tidy(() => {
    const x = tf.randomUniform([2, ...frameShape], 0, 1, 'float32', 1);
    saved.predict(x.slice(0, 1));
    const fromGraph = saved.predict(x) as Tensor;
    const fromLayers = model.apply(x, { training: false }) as Tensor;
    if (!util.arraysEqual(fromGraph.shape, fromLayers.shape)) return Infinity;
    return tf.max(tf.abs(tf.sub(fromGraph, fromLayers))).dataSync()[0];
  });
}

function layersPredictor(tf: Tf, model: LayersModel, frameShape: number[], fallbackReason: string): ServingPredictor {
  return {
    path: 'layers',
    fallbackReason,
    predict(x) {
      checkInput(x, frameShape);
      return tf.tidy(() => model.apply(x, { training: false }) as Tensor);
    },
    dispose() {},
  };
}

/**
 * The fastest exact way this process has to run a layers model on a few frames. With native
 * TensorFlow (tfjs-node) the model is exported as a frozen graph in a SavedModel and run by one
 * TensorFlow session call per predict, instead of one N-API call per op; a model the export cannot
 * translate or TensorFlow does not load, or another backend, runs as the layers model (apply, without
 * predict's checks); `fallbackReason` says why. A compiled graph is checked against the layers model
 * and warmed (batch 1 and 2) before it is returned.
 */
export async function compileForServing(tf: Tf, model: LayersModel, options: CompileOptions = {}): Promise<ServingPredictor> {
  const frameShape = model.inputs[0].shape.slice(1) as number[];
  const nodeTf = tf as NodeTf;
  if (options.layersOnly) return layersPredictor(tf, model, frameShape, 'graph serving is turned off');
  if (tf.getBackend() !== 'tensorflow' || !nodeTf.node)
    return layersPredictor(tf, model, frameShape, `backend ${tf.getBackend()} has no TensorFlow sessions`);
  let saved: SavedModel;
  let savedModelDir: string;
  try {
    ({ saved, dir: savedModelDir } = await loadGraph(nodeTf, model, options));
  } catch (err) {
    const reason =
      err instanceof UnsupportedModelError ? err.message : `could not write or load the exported graph: ${(err as Error).message}`;
    return layersPredictor(tf, model, frameShape, reason);
  }
  let difference: number;
  try {
    difference = differenceFromLayers(tf, model, saved, frameShape);
  } catch (err) {
    saved.dispose();
    return layersPredictor(tf, model, frameShape, `TensorFlow could not run the exported graph: ${(err as Error).message}`);
  }
  if (!(difference <= MAX_ABS_DIFFERENCE)) {
    saved.dispose();
    return layersPredictor(tf, model, frameShape, `the exported graph's outputs differ from the layers model's by up to ${difference}`);
  }
  let disposed = false;
  return {
    path: 'graph',
    savedModelDir,
    predict(x) {
      if (disposed) throw new Error('this serving predictor was disposed');
      checkInput(x, frameShape);
      return saved.predict(x) as Tensor;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      saved.dispose();
    },
  };
}
