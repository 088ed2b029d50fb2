import { parentPort, workerData } from 'node:worker_threads';
import type { LayersModel, Tensor4D } from '@tensorflow/tfjs';
import { loadBackend, type Tf } from '../core/ml/backend.js';
import { sha256 } from '../core/ml/dataset.js';
import { compileForServing, type ServingPredictor } from '../core/ml/fastPredict.js';
import { pixelsForModel, type DecodedFrame } from '../core/ml/imagePixels.js';
import { unscaleLabel } from '../core/ml/labels.js';
import { deserializeModel, type ModelMetadata } from '../core/ml/modelArtifact.js';
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
  predictor: ServingPredictor;
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
  const { backend: preference } = workerData as InferenceThreadData;
  const backend = loadBackend(preference);
  const models = new Map<number, ThreadModel>();

  async function load(request: LoadRequest): Promise<LoadAnswer> {
    const { tf } = await backend;
    const modelJson = asBuffer(request.modelJson);
    const weights = asBuffer(request.weights);
    if (sha256(Buffer.concat([modelJson, weights])) !== request.artifactSha256)
      throw new Error('its artifact does not match the registered sha256');
    const { model, metadata } = await deserializeModel(tf, modelJson, weights);
    const predictor = await compileForServing(tf, model, { artifactSha256: request.artifactSha256, layersOnly: request.layersOnly });
    if (predictor.path === 'graph') model.dispose();
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
    return { metadata, path: predictor.path, fallbackReason: predictor.fallbackReason };
  }

  /** One graph call for the frames that decoded; if it fails, one call per frame, so a frame the model cannot take fails alone. */
  async function predict(request: PredictRequest): Promise<PredictAnswer> {
    const { tf } = await backend;
    const entry = models.get(request.model);
    if (!entry) throw Object.assign(new Error('this model version is not loaded in the inference thread'), { code: 'model_unavailable' });
    const { metadata } = entry;
    const pixels = await Promise.allSettled(request.frames.map((frame) => pixelsForModel(frameImage(frame), metadata)));
    const answers: FrameAnswer[] = pixels.map((p) => (p.status === 'fulfilled' ? { mm: NaN } : { error: errorOf(p.reason) }));
    const decoded = pixels.flatMap((p, i) => (p.status === 'fulfilled' ? [{ i, pixels: p.value }] : []));
    if (decoded.length === 0) return { frames: answers, calls: 0 };
    let calls = 1;
    try {
      const units = runBatch(
        tf,
        entry,
        decoded.map((d) => d.pixels),
      );
      decoded.forEach((d, k) => (answers[d.i] = { mm: unscaleLabel(units[k], metadata.labelMaxMm) }));
    } catch {
      for (const d of decoded) {
        calls++;
        try {
          answers[d.i] = { mm: unscaleLabel(runBatch(tf, entry, [d.pixels])[0], metadata.labelMaxMm) };
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
        entry?.predictor.dispose();
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
      (value) => port.postMessage({ id, value } satisfies Reply),
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

/** The model's outputs in 0..1 for these frames, padded with blank frames to one of the warmed batch shapes. */
function runBatch(tf: Tf, entry: ThreadModel, frames: Uint8Array[]): Float32Array {
  const { metadata, predictor } = entry;
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
