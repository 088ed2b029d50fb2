import path from 'node:path';
import type { LayersModel, NamedTensorMap, Tensor, Tensor3D } from '@tensorflow/tfjs';
import type { RgbImage } from '../features/imageCharacteristics.js';
import type { Tf } from './backend.js';
import { sha256 } from './dataset.js';
import {
  differenceFromLayers,
  MAX_ABS_DIFFERENCE,
  ownCacheDir,
  writeSavedModelOnce,
  type CompileOptions,
  type NodeTf,
} from './fastPredict.js';
import { InvalidImageError } from './imagePixels.js';
import { GRAPH_PREPROCESSING, type ModelMetadata } from './modelArtifact.js';
import { UnsupportedModelError } from './tfGraph/graphDef.js';
import {
  graphV1Resize,
  INIT_SIGNATURE,
  JPEG_BATCH_SIZES,
  JPEG_INPUT,
  jpegServingGraph,
  jpegSignature,
  PIXELS_OUTPUT,
  pixelsSignature,
  PREDICTIONS_OUTPUT,
  rgbOutput,
  rgbShapeOutput,
  type JpegResize,
} from './tfGraph/jpegGraph.js';
import { encodeGraphSavedModel, SERVING_SIGNATURE, SERVING_TAG } from './tfGraph/savedModel.js';

/** Bumped whenever jpegServingGraph writes a different graph for the same artifact. */
const JPEG_GRAPH_FORMAT = 'j2';

export interface JpegPredictions {
  /** The model's outputs (0..1, before scaling to mm), one per frame in order. */
  units: Float32Array;
  /** Each frame's decode at its own size: the bytes decodeImage (sharp) gives for the same JPEG. */
  rgb: RgbImage[];
}

export interface JpegServingPredictor {
  readonly savedModelDir: string;
  /** The batch shapes the graph has; a batch is padded up to the next one, and may hold at most the largest. */
  readonly batchSizes: readonly number[];
  /**
   * One synchronous TensorFlow session call: JPEGs in, predictions and decodes out. A JPEG TensorFlow cannot decode
   * (truncated, corrupt, not a JPEG) fails the whole call with an InvalidImageError; try its frames one by one to
   * find it.
   */
  predictJpegs(jpegs: Uint8Array[]): JpegPredictions;
  /** The uint8 model input [n, height, width, 3] the same graph computes for these JPEGs (for checks; loads its signatures on first use). */
  modelInput(jpegs: Uint8Array[]): Promise<Uint8Array>;
  dispose(): void;
}

export interface JpegCompileOptions extends Pick<CompileOptions, 'artifactSha256' | 'cacheDir'> {
  batchSizes?: readonly number[];
  /**
   * Only for measuring the alternatives and checks: a model's resize is the one its preprocessing version says, computed
   * by this project's op when the process registered it (graphV1Resize).
   */
  resize?: JpegResize;
}

export type JpegSavedModel = { predict(x: NamedTensorMap | Tensor): NamedTensorMap | Tensor; dispose(): void };
export type JpegTf = NodeTf & { node?: { encodeJpeg(image: Tensor3D): Promise<Uint8Array> } };

/** TensorFlow's messages for a JPEG its decode refuses (jpeg_mem.cc, decode_image_op.cc). */
const DECODE_FAILURE = /jpeg|image|decode|input is empty/i;

/** Pads a short batch: an 8x8 frame decodes and resizes in microseconds. */
export async function fillerJpeg(tf: JpegTf): Promise<Uint8Array> {
  const gray = tf.fill([8, 8, 3], 128, 'int32') as Tensor3D;
  return tf.node!.encodeJpeg(gray).finally(() => gray.dispose());
}

/** Runs the signature of the smallest batch shape that holds the JPEGs, padded with `filler`; the caller disposes the outputs. */
export function runPadded(tf: Tf, sessionsBySize: Map<number, JpegSavedModel>, jpegs: Uint8Array[], filler: Uint8Array): NamedTensorMap {
  const n = jpegs.length;
  const sizes = [...sessionsBySize.keys()].sort((a, b) => a - b);
  const b = sizes.find((size) => size >= n);
  if (b === undefined) throw new RangeError(`a batch holds at most ${sizes.at(-1)} frames, got ${n}`);
  const input = tf.tensor([...jpegs, ...Array<Uint8Array>(b - n).fill(filler)] as never, [b], 'string');
  try {
    return sessionsBySize.get(b)!.predict({ [JPEG_INPUT]: input }) as NamedTensorMap;
  } catch (err) {
    const message = (err as Error).message;
    if (DECODE_FAILURE.test(message)) throw new InvalidImageError(`cannot decode image: ${message.trim()}`);
    throw err;
  } finally {
    input.dispose();
  }
}

/** An int32 output holding uint8 bytes (jpegGraph's asWords) as those bytes. */
export function bytesOf(words: Tensor, length: number): Uint8Array {
  const data = words.dataSync() as Int32Array;
  return new Uint8Array(data.buffer, data.byteOffset, length);
}

/**
 * A model trained on preprocessing 'graph-v1', served from JPEG bytes by one TensorFlow graph (core/ml/tfGraph/
 * jpegGraph.ts): decode, resize and scale as training did, then the model. tfjs-node only. Refuses (UnsupportedModelError)
 * a model trained on sharp's pixels, another backend, or a model the graph cannot express; the caller then serves the
 * pixel path (compileForServing). The graph is checked against the layers model (float frames, within 1e-5) and every
 * batch shape is warmed before it is returned. Synchronous calls: run it off the event loop (serving's inference thread).
 */
export async function compileJpegServing(
  tf: Tf,
  model: LayersModel,
  metadata: ModelMetadata,
  options: JpegCompileOptions = {},
): Promise<JpegServingPredictor> {
  const nodeTf = tf as JpegTf;
  if (tf.getBackend() !== 'tensorflow' || !nodeTf.node)
    throw new UnsupportedModelError(`backend ${tf.getBackend()} has no TensorFlow sessions`);
  if (metadata.preprocessing !== GRAPH_PREPROCESSING)
    throw new UnsupportedModelError(
      `the model was trained on ${metadata.preprocessing ?? "sharp's"} pixels, not ${GRAPH_PREPROCESSING}: serve it from pixels`,
    );
  const frameShape = model.inputs[0].shape.slice(1) as number[];
  const [height, width] = frameShape;
  if (height !== metadata.height || width !== metadata.width)
    throw new UnsupportedModelError(`the model's input is ${width}x${height}, its metadata says ${metadata.width}x${metadata.height}`);
  const batchSizes = [...(options.batchSizes ?? JPEG_BATCH_SIZES)].sort((a, b) => a - b);

  const resize = options.resize ?? graphV1Resize();
  const graph = jpegServingGraph(model, batchSizes, resize);
  let encoded: Uint8Array | undefined;
  const encode = () => (encoded ??= encodeGraphSavedModel(graph.nodes, graph.signatures));
  const variant = `${JPEG_GRAPH_FORMAT}-${resize}-b${batchSizes.join('.')}`;
  const dir = path.join(options.cacheDir ?? ownCacheDir(), `mlops-jpeg-graph-${variant}-${options.artifactSha256 ?? sha256(encode())}`);
  writeSavedModelOnce(dir, encode);

  const load = (signature: string) => nodeTf.node!.loadSavedModel(dir, [SERVING_TAG], signature) as Promise<JpegSavedModel>;
  const sessions: JpegSavedModel[] = [];
  const dispose = () => sessions.splice(0).forEach((s) => s.dispose());
  const jpegSessions = new Map<number, JpegSavedModel>();
  const pixelSessions = new Map<number, JpegSavedModel>();
  try {
    const frozen = await load(SERVING_SIGNATURE);
    sessions.push(frozen);
    for (const b of batchSizes) {
      jpegSessions.set(b, await load(jpegSignature(b)));
      sessions.push(jpegSessions.get(b)!);
    }
    const init = await load(INIT_SIGNATURE);
    sessions.push(init);
    const weights = Object.fromEntries(Object.entries(graph.weights).map(([input, w]) => [input, tf.tensor(w.values, w.shape, 'float32')]));
    try {
      tf.dispose(Object.values(init.predict(weights) as NamedTensorMap));
    } finally {
      tf.dispose(Object.values(weights));
    }
    const difference = differenceFromLayers(tf, model, frozen as never, frameShape);
    if (!(difference <= MAX_ABS_DIFFERENCE))
      throw new UnsupportedModelError(`the exported graph's outputs differ from the layers model's by up to ${difference}`);
  } catch (err) {
    dispose();
    throw err;
  }

  // Pads a short batch: an 8x8 frame decodes and resizes in microseconds.
  const filler = await fillerJpeg(nodeTf);
  const run = (sessionsBySize: Map<number, JpegSavedModel>, jpegs: Uint8Array[]) => {
    if (sessions.length === 0) throw new Error('this JPEG serving predictor was disposed');
    return runPadded(tf, sessionsBySize, jpegs, filler);
  };

  let pixelsLoaded: Promise<void> | undefined;
  const predictor: JpegServingPredictor = {
    savedModelDir: dir,
    batchSizes,
    predictJpegs(jpegs) {
      if (jpegs.length === 0) return { units: new Float32Array(0), rgb: [] };
      const out = run(jpegSessions, jpegs);
      try {
        const units = (out[PREDICTIONS_OUTPUT].dataSync() as Float32Array).slice(0, jpegs.length);
        const rgb = jpegs.map((_, i) => {
          const [h, w] = out[rgbShapeOutput(i)].dataSync();
          return { width: w, height: h, data: bytesOf(out[rgbOutput(i)], h * w * 3) };
        });
        return { units, rgb };
      } finally {
        tf.dispose(Object.values(out));
      }
    },
    async modelInput(jpegs) {
      await (pixelsLoaded ??= (async () => {
        for (const b of batchSizes) {
          const session = await load(pixelsSignature(b));
          sessions.push(session);
          pixelSessions.set(b, session);
        }
      })());
      const out = run(pixelSessions, jpegs);
      try {
        return bytesOf(out[PIXELS_OUTPUT], jpegs.length * height * width * 3).slice();
      } finally {
        tf.dispose(Object.values(out));
      }
    },
    dispose,
  };
  // The first call of a signature plans and optimises its graph (tens of ms): paid here, not by a request.
  for (const b of batchSizes) predictor.predictJpegs(Array<Uint8Array>(b).fill(filler));
  return predictor;
}
