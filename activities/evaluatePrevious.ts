import { Context } from '@temporalio/activity';
import { parseManifest } from '../core/ml/dataset.js';
import { getModelMetadata } from '../core/ml/modelArtifact.js';
import { runMlJob } from '../core/ml/runMlJob.js';
import type { ActivityContext } from './context.js';
import { heartbeatWhile } from './heartbeatWhile.js';

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
    const manifest = parseManifest(await stores.objects.get(input.manifestKey), input.manifestKey);
    const metadata = await getModelMetadata(stores.objects, current.artifactKey);
    if (metadata.width !== manifest.width || metadata.height !== manifest.height) {
      const skippedBecause = `version ${current.version} takes ${metadata.width}x${metadata.height} input, this dataset is ${manifest.width}x${manifest.height}`;
      return { previousVersion: current.version, metrics: null, skippedBecause };
    }
    const metrics = await heartbeatWhile(() =>
      runMlJob(
        {
          kind: 'evaluate',
          job: { objectsUrl, backend: mlBackend, manifestKey: input.manifestKey, modelPrefix: current.artifactKey },
        },
        () => {},
        Context.current().cancellationSignal,
      ),
    );
    return { previousVersion: current.version, metrics };
  };
