import path from 'node:path';
import type { Tensor } from '@tensorflow/tfjs';
import { loadBackend, type Tf } from './backend.js';
import { sha256 } from './dataset.js';
import { ownCacheDir, writeSavedModelOnce } from './fastPredict.js';
import { InvalidImageError, type InputSize } from './imagePixels.js';
import { bytesOf, fillerJpeg, runPadded, type JpegSavedModel, type JpegTf } from './jpegServing.js';
import { UnsupportedModelError } from './tfGraph/graphDef.js';
import {
  graphV1Resize,
  JPEG_BATCH_SIZES,
  PIXELS_OUTPUT,
  pixelsSignature,
  preprocessingGraph,
  type JpegResize,
} from './tfGraph/jpegGraph.js';
import { encodeGraphSavedModel, SERVING_TAG } from './tfGraph/savedModel.js';

export { GRAPH_PREPROCESSING_VERSION } from './modelArtifact.js';

/** A frame's model input, or why it could not be made. */
export type FramePixels = Uint8Array | InvalidImageError;

export interface JpegPixels {
  /** The uint8 model input [height, width, 3] of each JPEG, as serving's graph computes it: one session call per 16 frames. */
  pixelsOf(jpegs: Uint8Array[]): FramePixels[];
  dispose(): void;
}

/** The preprocessing graph for one model size, loaded in a TensorFlow session (tfjs-node). Synchronous calls. */
export async function compileJpegPixels(
  tf: Tf,
  size: InputSize,
  options: { cacheDir?: string; /** Only for measuring the alternatives and checks (see JpegCompileOptions). */ resize?: JpegResize } = {},
): Promise<JpegPixels> {
  const nodeTf = tf as JpegTf;
  if (tf.getBackend() !== 'tensorflow' || !nodeTf.node)
    throw new UnsupportedModelError(`backend ${tf.getBackend()} has no TensorFlow sessions`);
  const encoded = (() => {
    const graph = preprocessingGraph(size, JPEG_BATCH_SIZES, options.resize ?? graphV1Resize());
    return encodeGraphSavedModel(graph.nodes, graph.signatures);
  })();
  const dir = path.join(options.cacheDir ?? ownCacheDir(), `mlops-jpeg-pixels-${size.width}x${size.height}-${sha256(encoded)}`);
  writeSavedModelOnce(dir, () => encoded);
  const sessions = new Map<number, JpegSavedModel>();
  for (const b of JPEG_BATCH_SIZES)
    sessions.set(b, (await nodeTf.node.loadSavedModel(dir, [SERVING_TAG], pixelsSignature(b))) as JpegSavedModel);
  const filler = await fillerJpeg(nodeTf);
  const frameBytes = size.width * size.height * 3;
  const largest = JPEG_BATCH_SIZES.at(-1)!;

  const batchPixels = (jpegs: Uint8Array[]): Uint8Array => {
    const out = runPadded(tf, sessions, jpegs, filler);
    try {
      return bytesOf(out[PIXELS_OUTPUT] as Tensor, jpegs.length * frameBytes);
    } finally {
      tf.dispose(Object.values(out));
    }
  };
  const framesOf = (jpegs: Uint8Array[]): FramePixels[] => {
    try {
      const pixels = batchPixels(jpegs);
      return jpegs.map((_, i) => pixels.subarray(i * frameBytes, (i + 1) * frameBytes));
    } catch (err) {
      if (!(err instanceof InvalidImageError)) throw err;
      if (jpegs.length === 1) return [err];
      // One frame failed the call: find it, frame by frame.
      return jpegs.flatMap((jpeg) => framesOf([jpeg]));
    }
  };
  return {
    pixelsOf(jpegs) {
      const result: FramePixels[] = [];
      for (let start = 0; start < jpegs.length; start += largest) result.push(...framesOf(jpegs.slice(start, start + largest)));
      return result;
    },
    dispose() {
      for (const s of sessions.values()) s.dispose();
      sessions.clear();
    },
  };
}

const compiled = new Map<string, Promise<JpegPixels>>();

/** What the thread answers: the frames made, back to back in one buffer (moved, not copied), and those that failed. */
export interface ThreadPixels {
  pixels: Uint8Array;
  failed: { index: number; message: string }[];
}

/**
 * The entry of the preprocessing thread (jpegPixelsThread.mjs): the model input of each JPEG at `size` (a failed frame
 * takes no room in `pixels`), and why frames failed, as data (a thrown error would lose its code crossing the thread).
 * Loads tfjs-node and the graph once per size.
 */
export async function jpegPixelsInThread(task: {
  jpegs: Uint8Array[];
  width: number;
  height: number;
  cacheDir: string;
}): Promise<ThreadPixels> {
  const key = `${task.width}x${task.height}`;
  let session = compiled.get(key);
  if (!session) {
    session = loadBackend('tensorflow').then(({ tf }) =>
      compileJpegPixels(tf, { width: task.width, height: task.height }, { cacheDir: task.cacheDir }),
    );
    compiled.set(key, session);
    session.catch(() => compiled.delete(key));
  }
  const results = (await session).pixelsOf(task.jpegs);
  const made = results.filter((r) => r instanceof Uint8Array);
  const pixels = new Uint8Array(made.reduce((n, r) => n + r.length, 0));
  let at = 0;
  for (const r of made) {
    pixels.set(r, at);
    at += r.length;
  }
  const failed = results.flatMap((r, index) => (r instanceof InvalidImageError ? [{ index, message: r.message }] : []));
  return { pixels, failed };
}
