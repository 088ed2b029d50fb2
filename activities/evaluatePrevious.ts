import { runMlJob } from '../core/ml/runMlJob.js';
import type { ActivityContext } from './context.js';

export interface EvaluatePreviousInput {
  modelName: string;
  manifestKey: string;
}

export interface EvaluatePreviousResult {
  previousVersion: number | null;
  metrics: Record<string, number> | null;
  /** Why the previous version could not be measured on this test set, if it could not. */
  skippedBecause?: string;
}

/** Measures the currently registered version on this run's test set, for the registration's comparison. */
export const evaluatePrevious =
  ({ stores, objectsUrl, mlBackend }: ActivityContext) =>
  async (input: EvaluatePreviousInput): Promise<EvaluatePreviousResult> => {
    const current = await stores.registry.getLatestModelVersion(input.modelName);
    if (!current) return { previousVersion: null, metrics: null, skippedBecause: 'no registered version yet' };
    try {
      const metrics = await runMlJob({ kind: 'evaluate', job: { objectsUrl, backend: mlBackend, manifestKey: input.manifestKey, modelPrefix: current.artifactKey } });
      return { previousVersion: current.version, metrics };
    } catch (err) {
      const message = (err as Error).message;
      if (message.includes('differs from dataset')) return { previousVersion: current.version, metrics: null, skippedBecause: message.split('\n')[0] };
      throw err;
    }
  };
