/**
 * Where everything lives in the object store: frames under features/, each training run's
 * dataset and trials under runs/<workflowId>/<runId>/. (A saved model's own files: core/ml/modelArtifact.ts.)
 */
export const frameImageKey = (deployment: string, requestId: string) => `features/${deployment}/${requestId}.jpg`;

export const runPrefix = (workflowId: string, runId: string) => `runs/${workflowId}/${runId}`;

export function datasetKeys(workflowId: string, runId: string) {
  const prefix = `${runPrefix(workflowId, runId)}/dataset`;
  return {
    records: `${prefix}/records.json`,
    manifest: `${prefix}/manifest.json`,
    pixels: (split: 'train' | 'test') => `${prefix}/${split}-pixels.u8`,
    labels: (split: 'train' | 'test') => `${prefix}/${split}-labels.f32`,
    imageKeys: (split: 'train' | 'test') => `${prefix}/${split}-image-keys.json`,
  };
}

/** A trial's final model and checkpoints go under this prefix. */
export const trialPrefix = (workflowId: string, runId: string, trialIndex: number) =>
  `${runPrefix(workflowId, runId)}/trials/${trialIndex}`;

/** What a run's registered version learned from (core/drift/referenceProfile.ts). */
export const referenceProfileKey = (workflowId: string, runId: string) => `${runPrefix(workflowId, runId)}/reference-profile.json`;

/** A frame's id: the request id the API gave it (a UUID), the last segment of its image key. */
export const FRAME_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** The frame id of an image key of `frameImageKey`'s form, or null for any other key. */
export function frameIdOf(deployment: string, imageKey: string): string | null {
  const prefix = `features/${deployment}/`;
  if (!imageKey.startsWith(prefix) || !imageKey.endsWith('.jpg')) return null;
  const id = imageKey.slice(prefix.length, -'.jpg'.length);
  return FRAME_ID_PATTERN.test(id) ? id : null;
}

/** The deployment of an image key of `frameImageKey`'s form, or null for any other key. */
export function deploymentOfImageKey(imageKey: string): string | null {
  const match = /^features\/([^/]+)\/[^/]+\.jpg$/.exec(imageKey);
  return match ? match[1] : null;
}
