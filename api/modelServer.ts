import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../core/ml/backend.js';
import { imageToPixels } from '../core/ml/imagePixels.js';
import { unscaleLabel } from '../core/ml/labels.js';
import { deserializeModel, getModelFiles, type ModelMetadata } from '../core/ml/modelArtifact.js';
import { pixelsToTensor } from '../core/ml/train.js';
import type { ObjectStore } from '../core/stores/objects.js';
import type { Deployment, ModelVersion, RegistryStore } from '../core/stores/registry.js';

interface LoadedModel {
  model: LayersModel;
  metadata: ModelMetadata;
}

export interface ModelServerOptions {
  registry: RegistryStore;
  objects: ObjectStore;
  tf: Tf;
  /** How long a resolved `latest` is trusted before the registry is asked again. */
  latestTtlMs?: number;
  /** Loaded versions kept per model; older ones are disposed after a grace period. */
  keepVersions?: number;
}

const DISPOSE_GRACE_MS = 30_000;

/** Loads, caches and serves model versions; deployments on `latest` follow new registrations. */
export class ModelServer {
  private readonly loaded = new Map<string, Promise<LoadedModel>>();
  private readonly latest = new Map<string, { version: ModelVersion | undefined; at: number }>();

  constructor(private readonly options: ModelServerOptions) {}

  async resolve(deployment: Deployment): Promise<ModelVersion | undefined> {
    const { registry } = this.options;
    if (deployment.modelVersion !== 'latest') return registry.getModelVersion(deployment.modelName, deployment.modelVersion);
    const cached = this.latest.get(deployment.modelName);
    if (cached && Date.now() - cached.at < (this.options.latestTtlMs ?? 1000)) return cached.version;
    const version = await registry.getLatestModelVersion(deployment.modelName);
    this.latest.set(deployment.modelName, { version, at: Date.now() });
    return version;
  }

  /** The model's prediction in mm for one image, preprocessed exactly as the model was trained. */
  async predictMm(version: ModelVersion, image: Buffer): Promise<number> {
    const { model, metadata } = await this.load(version);
    const pixels = await imageToPixels(image, metadata);
    const { tf } = this.options;
    const out = tf.tidy(() => {
      const x = pixelsToTensor(tf, pixels, 1, metadata.height, metadata.width);
      return (model.predict(x) as Tensor).reshape([-1]);
    });
    const [unit] = await out.data();
    out.dispose();
    return unscaleLabel(unit, metadata.labelMaxMm);
  }

  private load(version: ModelVersion): Promise<LoadedModel> {
    const key = `${version.modelName}@${version.version}`;
    let entry = this.loaded.get(key);
    if (!entry) {
      entry = getModelFiles(this.options.objects, version.artifactKey).then((files) => {
        if (files.sha256 !== version.artifactSha256) throw new Error(`artifact of ${key} does not match its registered sha256`);
        return deserializeModel(this.options.tf, files.modelJson, files.weights);
      });
      entry.catch(() => this.loaded.delete(key));
      this.loaded.set(key, entry);
      this.evictOlderVersions(version.modelName);
    }
    return entry;
  }

  private evictOlderVersions(modelName: string) {
    const keep = this.options.keepVersions ?? 2;
    const keys = [...this.loaded.keys()].filter((k) => k.startsWith(`${modelName}@`));
    const byVersion = keys.sort((a, b) => Number(b.split('@')[1]) - Number(a.split('@')[1]));
    for (const key of byVersion.slice(keep)) {
      const entry = this.loaded.get(key)!;
      this.loaded.delete(key);
      // In-flight predictions may still hold it: dispose only after they are long done.
      setTimeout(() => entry.then((m) => m.model.dispose(), () => {}), DISPOSE_GRACE_MS).unref();
    }
  }

  dispose() {
    for (const entry of this.loaded.values()) entry.then((m) => m.model.dispose(), () => {});
    this.loaded.clear();
  }
}
