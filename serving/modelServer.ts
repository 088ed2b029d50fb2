import type { BackendPreference } from '../core/ml/backend.js';
import { PREDICT_BATCH_DEFAULTS } from '../core/config.js';
import type { DecodedFrame } from '../core/ml/imagePixels.js';
import { fetchModelFiles, type ModelMetadata } from '../core/ml/modelArtifact.js';
import type { ObjectStore } from '../core/stores/objects.js';
import { ItemFailure, MicroBatcher, type MicroBatchSettings } from './microBatcher.js';
import { fixedVersionOf, type Deployment, type ModelVersion, type RegistryStore } from '../core/stores/registry.js';
import { candidateAnswers } from '../core/rollout/candidateArm.js';
import {
  InferenceEngine,
  InferenceThreadStoppedError,
  ModelUnavailableError,
  type EngineModel,
  type FramePrediction,
} from './inferenceEngine.js';
import { batchShapes, type FrameInput } from './inferenceProtocol.js';

export { ModelUnavailableError } from './inferenceEngine.js';

interface LoadedModel {
  version: ModelVersion;
  /** The model in the inference thread: one TensorFlow graph where it can, else the layers model. */
  model: EngineModel;
  metadata: ModelMetadata;
  /** Frames to predict, gathered into one call of the model. */
  batcher: MicroBatcher<FrameInput, FramePrediction>;
  /** Bytes of its weights: what the cache's bound counts. */
  bytes: number;
  /** Requests predicting with this model right now. */
  leases: number;
  /** performance.now() of its last lease. */
  lastUsed: number;
  /** Out of the cache: disposed as soon as its last lease is released. */
  evicted: boolean;
  disposed: boolean;
}

/** A model held for one request: it stays loaded until released, whatever swaps happen meanwhile. */
export interface ModelLease {
  readonly version: ModelVersion;
  /**
   * The model decodes JPEGs itself (in its graph, as it was trained): give it the JPEG alone, and take the frame's
   * decode from `predict`'s answer instead of decoding it again.
   */
  readonly takesJpeg: boolean;
  /** The prediction in mm for one image (a JPEG, with its pixels if decoded already), preprocessed exactly as the model was trained. */
  predictMm(image: FrameImage): Promise<number>;
  /** As predictMm, with the frame decoded at its own size when the model decoded it (`takesJpeg`). */
  predict(image: FrameImage): Promise<FramePrediction>;
  release(): void;
}

/** A frame's JPEG, with its pixels when the caller decoded it already (once, for the model and the analysis). */
export type FrameImage = Buffer | DecodedFrame;

/** Which version answers a rover's frame, and which predicts on it in shadow after the answer. */
export interface Routing {
  lease: ModelLease;
  /** During a rollout: the other version (same model), whose prediction is recorded with the frame. */
  shadowVersion: number | null;
}

export interface ModelServerOptions {
  registry: RegistryStore;
  objects: ObjectStore;
  /**
   * The inference thread that runs the models (default: one of this server's own, on `backend`, closed by dispose).
   */
  engine?: InferenceEngine;
  /** The ML backend of a thread of its own (default 'auto': native TensorFlow if it loads). */
  backend?: BackendPreference;
  /** Nice levels a thread of its own runs below the event loop (Linux; default 0). */
  nice?: number;
  /** How long a resolved `latest` is trusted before the registry is asked again. */
  latestTtlMs?: number;
  /**
   * How long after a canary, ab or bandit stage starts its rovers get the candidate (default 0); API replicas set it
   * past their lookup TTL (core/rollout/candidateArm.ts), so that a rover's version changes on all of them at once.
   */
  candidateOpensAfterMs?: number;
  /**
   * Bytes of model weights kept loaded, over every model and version (default 1 GiB). Beyond it the least recently
   * used versions leave first; the one serving `latest` and one being swapped in never do.
   */
  cacheMaxBytes?: number;
  /** A loaded version no request used for this long leaves the cache (default 10 minutes). */
  idleMs?: number;
  /** Frames predicted together by one call of a model (default: up to 16, gathered for 2 ms, one batch in flight per version). */
  batch?: MicroBatchSettings;
  /** Run models as frozen TensorFlow graphs where the backend can (default true); false runs the layers models. */
  graph?: boolean;
  log?: { info(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void };
  /** Told of each model call's batch size and each load's duration (the API's metrics). */
  metrics?: { batchRun(frames: number): void; modelLoaded(seconds: number, outcome: 'loaded' | 'failed'): void };
}

export const DEFAULT_PREDICT_BATCH: MicroBatchSettings = { ...PREDICT_BATCH_DEFAULTS, maxInFlight: 1 };
const DEFAULT_MODEL_CACHE_MAX_BYTES = 1024 ** 3;
const DEFAULT_MODEL_IDLE_MS = 10 * 60_000;

/** A version that failed to load is tried again after this. */
const LOAD_RETRY_AFTER_MS = 10_000;

const keyOf = (v: Pick<ModelVersion, 'modelName' | 'version'>) => `${v.modelName}@${v.version}`;

/**
 * Loads, warms, caches and serves model versions. Every model is warmed by one prediction
 * before it serves. A deployment on `latest` is always answered by a warm model: when the
 * registry's latest moves, the new version loads and warms in the background while the
 * current one keeps answering, then replaces it at once. Requests hold a lease on the model
 * they started with; a replaced model is disposed when its last lease is released.
 */
export class ModelServer {
  private readonly loading = new Map<string, Promise<LoadedModel>>();
  private readonly loaded = new Map<string, LoadedModel>();
  /** Evicted, but a request still predicts with it. */
  private readonly retiring = new Set<LoadedModel>();
  private readonly latest = new Map<string, { serving: LoadedModel; target: number; checkedAt: number }>();
  private readonly swaps = new Map<string, Promise<void>>();
  private readonly failedLoads = new Map<string, { at: number; error: unknown }>();
  private readonly engine: InferenceEngine;
  private readonly ownsEngine: boolean;

  constructor(private readonly options: ModelServerOptions) {
    this.ownsEngine = !options.engine;
    this.engine = options.engine ?? new InferenceEngine({ backend: options.backend, nice: options.nice, log: options.log });
    this.engine.onRestart(() => this.forgetAll());
  }

  /** The backend the models run on ('tensorflow' or 'cpu'). */
  async backend(): Promise<{ name: string; fallbackReason?: string }> {
    return this.engine.backend();
  }

  /** How long into a canary, ab or bandit stage its rovers get the candidate (`/clients/me` says the same). */
  get candidateOpensAfterMs(): number {
    return this.options.candidateOpensAfterMs ?? 0;
  }

  /**
   * The version that answers this client of the deployment, and the one that shadows it. During a rollout's
   * canary, ab or bandit stage the candidate answers the stage's clients and the current version shadows them; everyone else
   * gets the current version, shadowed by the candidate (so do the stage's clients until `candidateOpensAfterMs`
   * into it). A candidate that cannot load never answers: the current version does, with no shadow. Undefined when
   * the deployment's model has no version yet.
   */
  async route(deployment: Deployment, clientId: string): Promise<Routing | undefined> {
    const current = await this.acquire(deployment);
    const rollout = deployment.rollout;
    if (!current || !rollout || rollout.candidateVersion === current.version.version)
      return current && { lease: current, shadowVersion: null };
    if (!candidateAnswers(rollout, clientId, Date.now(), this.candidateOpensAfterMs))
      return { lease: current, shadowVersion: rollout.candidateVersion };
    try {
      const candidate = await this.acquireVersion(deployment.modelName, rollout.candidateVersion);
      if (candidate) {
        current.release();
        return { lease: candidate, shadowVersion: current.version.version };
      }
    } catch (err) {
      this.options.log?.warn(
        { deployment: deployment.id, version: rollout.candidateVersion, err: (err as Error).message },
        'canary candidate cannot serve; the current version answers',
      );
    }
    return { lease: current, shadowVersion: null };
  }

  /** A lease on the model that serves every rover of this deployment now, or undefined when its model has no version yet. */
  async acquire(deployment: Deployment): Promise<ModelLease | undefined> {
    const pinned = fixedVersionOf(deployment);
    if (pinned === null) {
      await this.refreshLatest(deployment.modelName);
      // Read and lease in one synchronous step: a swap cannot slip in between.
      const state = this.latest.get(deployment.modelName);
      return state && this.lease(state.serving);
    }
    return this.acquireVersion(deployment.modelName, pinned);
  }

  /** The prediction in mm of one registered version for one image (a rollout's shadow), loading the version if needed. */
  async predictWith(modelName: string, version: number, image: FrameImage): Promise<number> {
    const lease = await this.acquireVersion(modelName, version);
    if (!lease) throw new ModelUnavailableError(`model ${modelName} has no version ${version}`);
    try {
      return await lease.predictMm(image);
    } finally {
      lease.release();
    }
  }

  private async acquireVersion(modelName: string, versionNumber: number): Promise<ModelLease | undefined> {
    // A registered version never changes: one already loaded needs no registry lookup.
    const version =
      this.loaded.get(keyOf({ modelName, version: versionNumber }))?.version ??
      (await this.options.registry.getModelVersion(modelName, versionNumber));
    if (!version) return undefined;
    for (;;) {
      const entry = await this.load(version);
      if (entry.disposed) continue;
      const lease = this.lease(entry);
      this.evictBeyondBounds();
      return lease;
    }
  }

  /** Resolves once every background swap started so far has finished (swapped or failed). */
  async swapsSettled(): Promise<void> {
    while (this.swaps.size > 0) await Promise.allSettled([...this.swaps.values()]);
  }

  /** `name@version` of every model in memory: cached, or evicted but still held by a request. */
  loadedVersions(): string[] {
    return [...this.loaded.values(), ...this.retiring].map((m) => keyOf(m.version)).sort();
  }

  /** Versions in memory (cached, or evicted but still held by a request) and the bytes of their weights. */
  cacheSize(): { versions: number; bytes: number } {
    const entries = [...this.loaded.values(), ...this.retiring];
    return { versions: entries.length, bytes: entries.reduce((n, e) => n + e.bytes, 0) };
  }

  dispose() {
    for (const entry of [...this.loaded.values(), ...this.retiring]) this.disposeModel(entry);
    this.loaded.clear();
    this.loading.clear();
    this.latest.clear();
    if (this.ownsEngine) void this.engine.close();
  }

  /**
   * The inference thread stopped, and every model in it: requests holding one fail (503), and the next ones load
   * their versions again in the new thread.
   */
  private forgetAll() {
    for (const entry of [...this.loaded.values(), ...this.retiring]) entry.disposed = true;
    this.loaded.clear();
    this.retiring.clear();
    this.loading.clear();
    this.latest.clear();
    this.failedLoads.clear();
  }

  private async refreshLatest(modelName: string): Promise<void> {
    const state = this.latest.get(modelName);
    if (state && Date.now() - state.checkedAt < (this.options.latestTtlMs ?? 1000)) return;
    let version: ModelVersion | undefined;
    try {
      version = await this.options.registry.getLatestModelVersion(modelName);
    } catch (err) {
      // The registry is down: the version being served keeps serving until it answers again.
      if (!state) throw err;
      state.checkedAt = Date.now();
      return;
    }
    if (!version) return;
    const current = this.latest.get(modelName);
    if (current) {
      current.checkedAt = Date.now();
      if (version.version !== current.target) {
        current.target = version.version;
        this.swapInBackground(modelName, version);
      }
      return;
    }
    // Nothing warm to answer with meanwhile: the first request waits for the first load.
    const entry = await this.load(version);
    if (!this.latest.has(modelName) && !entry.disposed) {
      this.latest.set(modelName, { serving: entry, target: version.version, checkedAt: Date.now() });
      this.evictBeyondBounds();
    }
  }

  private swapInBackground(modelName: string, version: ModelVersion) {
    const key = keyOf(version);
    if (this.swaps.has(key)) return;
    const swap = this.load(version).then(
      (next) => {
        const state = this.latest.get(modelName);
        // `latest` may have moved on while this version loaded: only the newest target is swapped in.
        if (!state || state.target !== version.version || next.disposed) return;
        const from = state.serving.version.version;
        state.serving = next;
        this.options.log?.info({ model: modelName, from, to: version.version }, 'model swapped: latest now served by the new version');
        this.evictBeyondBounds();
      },
      (err) => {
        const state = this.latest.get(modelName);
        // Aim back at the version being served, so the next look at the registry tries again.
        if (state?.target === version.version) state.target = state.serving.version.version;
        this.options.log?.warn(
          { model: modelName, version: version.version, err: (err as Error).message },
          'new version failed to load; still serving the previous one',
        );
      },
    );
    this.swaps.set(key, swap);
    void swap.finally(() => this.swaps.delete(key));
  }

  private load(version: ModelVersion): Promise<LoadedModel> {
    const key = keyOf(version);
    let entry = this.loading.get(key);
    if (!entry) {
      const failed = this.failedLoads.get(key);
      // A version that failed to load is not fetched again for every frame that asks for it.
      if (failed && Date.now() - failed.at < LOAD_RETRY_AFTER_MS) return Promise.reject(failed.error);
      entry = this.loadAndWarm(version).then((loaded) => {
        this.loaded.set(key, loaded);
        this.failedLoads.delete(key);
        return loaded;
      });
      entry.catch((error: unknown) => {
        this.loading.delete(key);
        // A load the thread's crash cut short is not the version's fault: the next request loads it again.
        if (!(error instanceof InferenceThreadStoppedError)) this.failedLoads.set(key, { at: Date.now(), error });
      });
      this.loading.set(key, entry);
    }
    return entry;
  }

  /**
   * Fetches a version's files and has the inference thread check, deserialize, compile and warm it: the event loop
   * waits for it without running any of it, so a load never stalls the requests served meanwhile.
   */
  private async loadAndWarm(version: ModelVersion): Promise<LoadedModel> {
    const started = performance.now();
    const loaded = (outcome: 'loaded' | 'failed') => this.options.metrics?.modelLoaded((performance.now() - started) / 1000, outcome);
    const batch = { ...DEFAULT_PREDICT_BATCH, ...this.options.batch };
    // A batch waits for mates only while frames come within a window of each other: a lone rover's never waits.
    batch.denseGapMs ??= batch.windowMs;
    try {
      const files = await fetchModelFiles(this.options.objects, version.artifactKey);
      const model = await this.engine.load(files, {
        label: keyOf(version),
        artifactSha256: version.artifactSha256,
        layersOnly: this.options.graph === false,
        warmShapes: batchShapes(batch.maxItems),
      });
      this.options.log?.info(
        { model: version.modelName, version: version.version, path: model.path, fallbackReason: model.fallbackReason },
        'model loaded',
      );
      loaded('loaded');
      return {
        version,
        model,
        metadata: model.metadata,
        batcher: new MicroBatcher<FrameInput, FramePrediction>(
          async (frames) => {
            const answer = await this.engine.predict(model, frames);
            return answer.frames.map((out) => (out instanceof Error ? new ItemFailure(out) : out));
          },
          batch,
          this.options.metrics?.batchRun,
        ),
        bytes: files.weights.byteLength,
        leases: 0,
        lastUsed: performance.now(),
        evicted: false,
        disposed: false,
      };
    } catch (err) {
      loaded('failed');
      if (err instanceof InferenceThreadStoppedError) throw err;
      throw new ModelUnavailableError(`model ${version.modelName} v${version.version} cannot serve: ${(err as Error).message}`);
    }
  }

  private lease(entry: LoadedModel): ModelLease {
    entry.leases++;
    entry.lastUsed = performance.now();
    let released = false;
    return {
      version: entry.version,
      takesJpeg: entry.model.path === 'jpeg',
      predictMm: async (image) => (await this.predict(entry, image)).mm,
      predict: (image) => this.predict(entry, image),
      release: () => {
        if (released) return;
        released = true;
        entry.leases--;
        if (entry.evicted && entry.leases === 0) this.disposeModel(entry);
      },
    };
  }

  /** A frame that cannot be decoded fails alone (InvalidImageError), never its batch mates. */
  private predict(entry: LoadedModel, image: FrameImage): Promise<FramePrediction> {
    return entry.batcher.submit(frameInput(image, entry.model.path === 'jpeg'));
  }

  /** Calls of the models and the frames they predicted, since the server started (models still loaded). */
  batchCounters(): { batches: number; frames: number; largest: number } {
    const entries = [...this.loaded.values(), ...this.retiring];
    return {
      batches: entries.reduce((n, e) => n + e.batcher.counters.batches, 0),
      frames: entries.reduce((n, e) => n + e.batcher.counters.items, 0),
      largest: Math.max(0, ...entries.map((e) => e.batcher.counters.largest)),
    };
  }

  /**
   * Keeps every loaded version while their weights fit in `cacheMaxBytes`; beyond, the least recently used leave
   * first. A version idle for `idleMs` leaves anyway. The version serving a model's `latest` and one being swapped in
   * stay whatever the bound. A version that leaves while a request holds it is disposed once no request does.
   */
  private evictBeyondBounds() {
    const maxBytes = this.options.cacheMaxBytes ?? DEFAULT_MODEL_CACHE_MAX_BYTES;
    const idleSince = performance.now() - (this.options.idleMs ?? DEFAULT_MODEL_IDLE_MS);
    const serving = new Set([...this.latest.values()].map((state) => state.serving));
    const inUse = (m: LoadedModel) => serving.has(m) || this.swaps.has(keyOf(m.version));
    const leastRecentFirst = [...this.loaded.values()].filter((m) => !inUse(m)).sort((a, b) => a.lastUsed - b.lastUsed);
    let bytes = [...this.loaded.values()].reduce((n, m) => n + m.bytes, 0);
    for (const entry of leastRecentFirst) {
      if (bytes <= maxBytes && entry.lastUsed >= idleSince) continue;
      bytes -= entry.bytes;
      const key = keyOf(entry.version);
      this.loaded.delete(key);
      this.loading.delete(key);
      entry.evicted = true;
      if (entry.leases === 0) this.disposeModel(entry);
      else this.retiring.add(entry);
    }
  }

  private disposeModel(entry: LoadedModel) {
    this.retiring.delete(entry);
    if (entry.disposed) return;
    entry.disposed = true;
    this.engine.unload(entry.model).catch((err: Error) => this.options.log?.warn({ err: err.message }, 'model could not be unloaded'));
  }
}

/** What the inference thread gets of a frame: its JPEG, and its pixels when decoded at its own size already. */
function frameInput(image: FrameImage, jpegOnly: boolean): FrameInput {
  if (Buffer.isBuffer(image)) return { jpeg: image };
  if (jpegOnly) return { jpeg: image.jpeg };
  const { width, height, data } = image.rgb;
  return { jpeg: image.jpeg, rgb: { width, height, data } };
}
