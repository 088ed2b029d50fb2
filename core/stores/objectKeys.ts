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
