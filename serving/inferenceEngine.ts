import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RgbImage } from '../core/features/imageCharacteristics.js';
import type { BackendPreference } from '../core/ml/backend.js';
import { InvalidImageError } from '../core/ml/imagePixels.js';
import type { ModelFiles } from '../core/ml/modelArtifact.js';
import type {
  BackendAnswer,
  Envelope,
  FrameInput,
  InferenceRequest,
  InferenceThreadData,
  LoadAnswer,
  PredictAnswer,
  Reply,
} from './inferenceProtocol.js';

const threadEntry = fileURLToPath(new URL('./inferenceThread.mjs', import.meta.url));

/** No model can answer this call now (the API answers 503 model_unavailable). */
export class ModelUnavailableError extends Error {
  readonly code = 'model_unavailable';
}

/** The inference thread stopped (crashed, or was restarted) while this call was in it: the call may be tried again. */
export class InferenceThreadStoppedError extends ModelUnavailableError {}

/** A model the thread could not load or run. */
export class InferenceError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** A frame's prediction in mm, with the frame decoded at its own size when the model decoded its JPEG. */
export interface FramePrediction {
  mm: number;
  rgb?: RgbImage;
}

/** A model version loaded in the thread; it lives until unloaded or until the thread it was loaded in stops. */
export interface EngineModel extends LoadAnswer {
  readonly id: number;
  /** The thread it lives in: a later one (after a restart) does not have it. */
  readonly generation: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export interface InferenceEngineOptions {
  backend?: BackendPreference;
  /**
   * How long a load (default 120 s) and a micro-batch (default 30 s) may take. A TensorFlow call cannot be cancelled:
   * past its deadline the thread is given up and replaced, and every call in it fails as if it had crashed.
   */
  deadlines?: { loadSeconds?: number; predictSeconds?: number };
  /** Nice levels the thread runs below the event loop (Linux), so that answering requests gets the cores first (default 0). */
  nice?: number;
  log?: { warn(obj: unknown, msg?: string): void };
}

/**
 * tensorflow.ConfigProto `{ experimental { disable_thread_spinning: true } }`, serialized and hex-encoded (field 16,
 * 2 bytes long: field 9 = 1), for the patched tfjs-node binding (scripts/install-native-tf.sh). TensorFlow's thread
 * pools otherwise spin for more work after every call: with a few milliseconds between micro-batches, as at a fleet's
 * rate, that spinning was a fifth to a quarter of a batch-1 call's CPU (bench/README.md, issue 26's second stop).
 */
export const SERVING_TF_CONFIG = '8201024801';

const DEFAULT_LOAD_DEADLINE_S = 120;
const DEFAULT_PREDICT_DEADLINE_S = 30;

/**
 * The API's side of the inference thread (inferenceThread.ts): one worker thread that owns the ML backend and
 * every loaded model's session. A load (deserialize, compile, warm) and each micro-batch run there, so the event
 * loop only posts bytes and reads answers: one message per load, per batch and per unload. When the thread dies,
 * whatever was in it fails at once (InferenceThreadStoppedError) and a new thread starts, with no model loaded.
 */
export class InferenceEngine {
  private worker!: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private nextModel = 1;
  private closed = false;
  private readonly restartListeners: ((reason: string) => void)[] = [];
  /** Threads started so far: a model belongs to the one it was loaded in. */
  generation = 0;

  constructor(private readonly options: InferenceEngineOptions = {}) {
    this.start();
  }

  private start() {
    this.generation++;
    // TensorFlow reads its log level from the process's environment, which a worker thread's process.env only copies.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
    process.env.TFJS_NODE_CONFIG_PROTO ??= SERVING_TF_CONFIG;
    const worker = new Worker(threadEntry, {
      workerData: { backend: this.options.backend ?? 'auto', nice: this.options.nice } satisfies InferenceThreadData,
    });
    // A thread waiting for work keeps no process alive (a closed API, a test's end).
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const call = this.pending.get(reply.id);
      if (!call) return;
      this.pending.delete(reply.id);
      if ('error' in reply) call.reject(new InferenceError(reply.error.message, reply.error.code ?? 'error'));
      else call.resolve(reply.value);
    });
    let stopped = false;
    const stop = (reason: string) => {
      if (stopped) return;
      stopped = true;
      if (this.worker === worker) this.stopped(reason);
    };
    worker.on('error', (err) => stop(`the inference thread crashed: ${err.message}`));
    worker.on('exit', (code) => stop(`the inference thread exited (code ${code})`));
    this.worker = worker;
  }

  private stopped(reason: string) {
    const calls = [...this.pending.values()];
    this.pending.clear();
    if (!this.closed) {
      this.options.log?.warn({ reason }, 'inference thread stopped; starting a new one');
      this.start();
      for (const listener of this.restartListeners) listener(reason);
    }
    for (const call of calls) call.reject(new InferenceThreadStoppedError(reason));
  }

  private call<T>(message: InferenceRequest): Promise<T> {
    if (this.closed) return Promise.reject(new InferenceThreadStoppedError('the inference engine is closed'));
    const id = this.nextId++;
    const worker = this.worker;
    const deadlineSeconds = this.deadlineOf(message);
    let deadline: NodeJS.Timeout | undefined;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      // Work posted, the thread is worth waiting for; idle again, it keeps no process alive.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, message } satisfies Envelope<InferenceRequest>);
      if (deadlineSeconds !== undefined)
        deadline = setTimeout(
          () => this.abandon(worker, `a ${message.kind} call passed its ${deadlineSeconds} s deadline`),
          deadlineSeconds * 1000,
        );
    }).finally(() => {
      clearTimeout(deadline);
      if (this.pending.size === 0) this.worker.unref();
    });
  }

  private deadlineOf(message: InferenceRequest): number | undefined {
    const { deadlines } = this.options;
    if (message.kind === 'load') return deadlines?.loadSeconds ?? DEFAULT_LOAD_DEADLINE_S;
    if (message.kind === 'predict') return deadlines?.predictSeconds ?? DEFAULT_PREDICT_DEADLINE_S;
    return undefined;
  }

  /** A thread stuck in a native call may never reach the point where it can be terminated: a new one takes over now. */
  private abandon(worker: Worker, reason: string) {
    if (this.worker !== worker) return;
    this.stopped(reason);
    void worker.terminate();
  }

  /** Told when a thread stopped and a new one started: the models loaded before are gone. */
  onRestart(listener: (reason: string) => void) {
    this.restartListeners.push(listener);
  }

  /** The backend the thread runs models on ('tensorflow' or 'cpu'). */
  backend(): Promise<BackendAnswer> {
    return this.call<BackendAnswer>({ kind: 'backend' });
  }

  /** Checks, deserializes, compiles and warms a model in the thread; the API's event loop only posts its bytes. */
  async load(
    files: ModelFiles,
    options: { label: string; artifactSha256: string; layersOnly: boolean; warmShapes: number[] },
  ): Promise<EngineModel> {
    const id = this.nextModel++;
    const generation = this.generation;
    const answer = await this.call<LoadAnswer>({
      kind: 'load',
      model: id,
      label: options.label,
      modelJson: files.modelJson,
      weights: files.weights,
      artifactSha256: options.artifactSha256,
      layersOnly: options.layersOnly,
      warmShapes: options.warmShapes,
    });
    return { ...answer, id, generation };
  }

  /**
   * One call of the model for a micro-batch: one message, one native call in the thread, an answer per frame (its
   * prediction, with its decode from a JPEG graph, or the error of that frame alone: InvalidImageError for a frame
   * that cannot be decoded).
   */
  async predict(model: EngineModel, frames: FrameInput[]): Promise<{ frames: (FramePrediction | Error)[]; calls: number }> {
    if (model.generation !== this.generation)
      throw new InferenceThreadStoppedError('the inference thread this model was loaded in has stopped');
    const answer = await this.call<PredictAnswer>({ kind: 'predict', model: model.id, frames });
    return {
      calls: answer.calls,
      frames: answer.frames.map((frame) => {
        if (!('error' in frame)) return frame;
        const { code, message } = frame.error;
        return code === 'invalid_image' ? new InvalidImageError(message) : new InferenceError(message, code);
      }),
    };
  }

  /** Frees a model's session in the thread (nothing to free when its thread has stopped). */
  async unload(model: EngineModel): Promise<void> {
    if (model.generation !== this.generation || this.closed) return;
    await this.call({ kind: 'unload', model: model.id });
  }

  /** Ends the thread as a crash would: what is in it fails with InferenceThreadStoppedError and a new thread starts. */
  async restart(): Promise<void> {
    await this.worker.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }
}
