import { parentPort, workerData } from 'node:worker_threads';
import type { RgbImage } from '../core/features/imageCharacteristics.js';
import type { LayersModel, Tensor4D } from '@tensorflow/tfjs';
import { loadBackend, type Tf } from '../core/ml/backend.js';
import { lowerThreadPriority } from '../core/threadPriority.js';
import { sha256 } from '../core/ml/dataset.js';
import { compileForServing, type ServingPredictor } from '../core/ml/fastPredict.js';
import { pixelsForModel, type DecodedFrame } from '../core/ml/imagePixels.js';
import { compileJpegServing, type JpegServingPredictor } from '../core/ml/jpegServing.js';
import { unscaleLabel } from '../core/ml/labels.js';
import { deserializeModel, GRAPH_PREPROCESSING, type ModelMetadata } from '../core/ml/modelArtifact.js';
import { pixelsToTensor } from '../core/ml/train.js';
import {
  batchShapes,
  type BackendAnswer,
  type Envelope,
  type FrameAnswer,
  type FrameInput,
  type InferenceRequest,
  type InferenceThreadData,
  type LoadAnswer,
  type LoadRequest,
  type PredictAnswer,
  type PredictRequest,
  type Reply,
} from './inferenceProtocol.js';

interface ThreadModel {
  /** JPEG bytes in: decode, resize and the model in one session call (models trained on 'graph-v1'). */
  jpeg?: JpegServingPredictor;
  predictor?: ServingPredictor;
  /** Kept only while the predictor runs it (the graph holds its own copy of the weights). */
  model: LayersModel | undefined;
  metadata: ModelMetadata;
}

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * The inference thread: owns the ML backend (tfjs-node) and every loaded model's TensorFlow session, so that the
 * API's event loop runs none of their calls. Each model's load (deserialize, compile, warm) and each micro-batch's
 * preprocessing and graph call happen here; the API's thread only sends bytes and reads answers.
 */
export function serveInference() {
  const port = parentPort!;
  const { backend: preference, nice } = workerData as InferenceThreadData;
  // Before TensorFlow starts its pools, which take this thread's priority over.
  if (nice) lowerThreadPriority(nice);
  const backend = loadBackend(preference);
  // A backend that cannot load fails each call that needs it, not the thread (which would be restarted, and fail again).
  backend.catch(() => undefined);
  const models = new Map<number, ThreadModel>();

  async function load(request: LoadRequest): Promise<LoadAnswer> {
    const { tf } = await backend;
    const modelJson = asBuffer(request.modelJson);
    const weights = asBuffer(request.weights);
    if (sha256(Buffer.concat([modelJson, weights])) !== request.artifactSha256)
      throw new Error('its artifact does not match the registered sha256');
    const { model, metadata } = await deserializeModel(tf, modelJson, weights);
    let jpegRefused: string | undefined;
    if (metadata.preprocessing === GRAPH_PREPROCESSING) {
      try {
        // Every batch shape is warmed as it compiles.
        const jpeg = await compileJpegServing(tf, model, metadata, {
          artifactSha256: request.artifactSha256,
          batchSizes: request.warmShapes,
        });
        model.dispose();
        models.set(request.model, { jpeg, model: undefined, metadata });
        return { metadata, path: 'jpeg' };
      } catch (err) {
        // Served from sharp's pixels instead: close to what it was trained on, not the same bytes.
        jpegRefused = `its JPEG graph cannot serve (${(err as Error).message}): served from sharp's pixels`;
      }
    }
    const predictor = await compileForServing(tf, model, { artifactSha256: request.artifactSha256, layersOnly: request.layersOnly });
    if (predictor.path === 'graph') model.dispose();
    const fallbackReason = [jpegRefused, predictor.fallbackReason].filter(Boolean).join('; ') || undefined;
    try {
      // The first prediction of each batch shape builds its kernels and buffers: pay for them here, not in a request.
      for (const frames of request.warmShapes) {
        const warm = tf.tidy(() => predictor.predict(tf.zeros([frames, metadata.height, metadata.width, 3]) as Tensor4D));
        await warm.data();
        warm.dispose();
      }
    } catch (err) {
      predictor.dispose();
      if (predictor.path !== 'graph') model.dispose();
      throw err;
    }
    models.set(request.model, { predictor, model: predictor.path === 'graph' ? undefined : model, metadata });
    return { metadata, path: predictor.path, fallbackReason };
  }

  /** One graph call for the frames that decoded; if it fails, one call per frame, so a frame the model cannot take fails alone. */
  async function predict(request: PredictRequest): Promise<PredictAnswer> {
    const { tf } = await backend;
    const entry = models.get(request.model);
    if (!entry) throw Object.assign(new Error('this model version is not loaded in the inference thread'), { code: 'model_unavailable' });
    const { metadata, predictor, jpeg } = entry;
    if (jpeg) return predictJpegs(jpeg, metadata, request.frames);
    const pixels = await Promise.allSettled(request.frames.map((frame) => pixelsForModel(frameImage(frame), metadata)));
    const answers: FrameAnswer[] = pixels.map((p) => (p.status === 'fulfilled' ? { mm: NaN } : { error: errorOf(p.reason) }));
    const decoded = pixels.flatMap((p, i) => (p.status === 'fulfilled' ? [{ i, pixels: p.value }] : []));
    if (decoded.length === 0) return { frames: answers, calls: 0 };
    let calls = 1;
    try {
      const units = runBatch(
        tf,
        predictor!,
        metadata,
        decoded.map((d) => d.pixels),
      );
      decoded.forEach((d, k) => (answers[d.i] = { mm: unscaleLabel(units[k], metadata.labelMaxMm) }));
    } catch {
      for (const d of decoded) {
        calls++;
        try {
          answers[d.i] = { mm: unscaleLabel(runBatch(tf, predictor!, metadata, [d.pixels])[0], metadata.labelMaxMm) };
        } catch (err) {
          answers[d.i] = { error: errorOf(err) };
        }
      }
    }
    return { frames: answers, calls };
  }

  async function handle(message: InferenceRequest): Promise<unknown> {
    switch (message.kind) {
      case 'load':
        return load(message);
      case 'predict':
        return predict(message);
      case 'unload': {
        const entry = models.get(message.model);
        models.delete(message.model);
        entry?.jpeg?.dispose();
        entry?.predictor?.dispose();
        entry?.model?.dispose();
        return null;
      }
      case 'backend': {
        const { name, fallbackReason } = await backend;
        return { name, fallbackReason } satisfies BackendAnswer;
      }
    }
  }

  port.on('message', ({ id, message }: Envelope<InferenceRequest>) => {
    handle(message).then(
      // The decoded frames move to the API's thread, not copied.
      (value) => port.postMessage({ id, value } satisfies Reply, decodesOf(value)),
      (err: unknown) => port.postMessage({ id, error: errorOf(err) } satisfies Reply),
    );
  });
}

function frameImage(frame: FrameInput): Buffer | DecodedFrame {
  const jpeg = asBuffer(frame.jpeg);
  return frame.rgb ? { jpeg, rgb: frame.rgb } : jpeg;
}

/** Errors travel back as data: a thrown error would lose its `code` crossing the thread boundary. */
function errorOf(err: unknown): { message: string; code: string } {
  const { message, code } = err as { message?: string; code?: unknown };
  return { message: message ?? String(err), code: typeof code === 'string' ? code : 'error' };
}

/**
 * One session call for the batch: JPEGs in, predictions and each frame's decode out. A JPEG TensorFlow cannot decode
 * fails the call: then each frame is tried alone, so it fails alone.
 */
function predictJpegs(jpeg: JpegServingPredictor, metadata: ModelMetadata, frames: FrameInput[]): PredictAnswer {
  const answer = (units: Float32Array, rgb: RgbImage[]): FrameAnswer[] =>
    rgb.map((image, i) => ({
      mm: unscaleLabel(units[i], metadata.labelMaxMm),
      // Its own buffer, to be moved to the API's thread.
      rgb: { width: image.width, height: image.height, data: image.data.slice() },
    }));
  try {
    const { units, rgb } = jpeg.predictJpegs(frames.map((f) => f.jpeg));
    return { frames: answer(units, rgb), calls: 1 };
  } catch {
    const answers = frames.map((frame): FrameAnswer => {
      try {
        const { units, rgb } = jpeg.predictJpegs([frame.jpeg]);
        return answer(units, rgb)[0];
      } catch (err) {
        return { error: errorOf(err) };
      }
    });
    return { frames: answers, calls: 1 + frames.length };
  }
}

/** The buffers of the frames a JPEG graph decoded, in an answer. */
function decodesOf(value: unknown): ArrayBuffer[] {
  const frames = (value as Partial<PredictAnswer> | null)?.frames;
  return (frames ?? []).flatMap((f) => ('rgb' in f && f.rgb ? [f.rgb.data.buffer as ArrayBuffer] : []));
}

/** The model's outputs in 0..1 for these frames, padded with blank frames to one of the warmed batch shapes. */
function runBatch(tf: Tf, predictor: ServingPredictor, metadata: ModelMetadata, frames: Uint8Array[]): Float32Array {
  const shape = batchShapes(frames.length).at(-1)!;
  const pixels = shape === 1 ? frames[0] : concatBytes(frames, shape);
  const out = tf.tidy(() => {
    const x = pixelsToTensor(tf, pixels, shape, metadata.height, metadata.width) as Tensor4D;
    return predictor.predict(x).reshape([-1]);
  });
  try {
    return (out.dataSync() as Float32Array).slice(0, frames.length);
  } finally {
    out.dispose();
  }
}

/** The frames one after the other, then blank frames up to `count`. */
function concatBytes(parts: Uint8Array[], count: number): Uint8Array {
  const out = new Uint8Array(parts[0].length * count);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
