import { Context } from '@temporalio/activity';
import { parseManifest } from '../core/ml/dataset.js';
import { getModelMetadata } from '../core/ml/modelArtifact.js';
import { runMlJob } from '../core/ml/runMlJob.js';
import { testMetricsOf } from '../core/ml/train.js';
import type { PairedComparison } from '../core/rollout/pairedTest.js';
import { compareInStopBand } from '../core/rollout/pairedTest.js';
import { deploymentMetrics } from '../core/training/distanceBands.js';
import type { ActivityContext } from './context.js';
import { heartbeatWhile } from './heartbeatWhile.js';

export interface EvaluatePreviousInput {
  modelName: string;
  manifestKey: string;
  /** The candidate's artifact: measured with the current version in one job, on the same test frames (runs before it have none). */
  candidateArtifactKey?: string;
}

export interface EvaluatePreviousResult {
  previousVersion: number | null;
  metrics: Record<string, number> | null;
  /** Why the previous version could not be measured on this test set, if it could not. */
  skippedBecause?: string;
  /** Both versions' errors on the test frames whose laser reading is in the stop band (<= 100 mm), paired. */
  stopBand?: PairedComparison;
}

/** Measures the currently registered version on this run's test set, and with the candidate on its stop-band frames, for the registration's comparison. */
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
    const job = { objectsUrl, backend: mlBackend, manifestKey: input.manifestKey, modelPrefix: current.artifactKey };
    const { candidateArtifactKey } = input;
    if (candidateArtifactKey === undefined) {
      const metrics = await heartbeatWhile(() => runMlJob({ kind: 'evaluate', job }, () => {}, Context.current().cancellationSignal));
      return { previousVersion: current.version, metrics };
    }
    const errors = await heartbeatWhile(() =>
      runMlJob(
        { kind: 'paired-test-errors', job: { ...job, candidatePrefix: candidateArtifactKey } },
        () => {},
        Context.current().cancellationSignal,
      ),
    );
    return {
      previousVersion: current.version,
      metrics: { ...testMetricsOf(errors.current, errors.labelsMm), ...deploymentMetrics(errors.deployments, errors.current) },
      stopBand: compareInStopBand(errors.labelsMm, errors.current, errors.candidate),
    };
  };
