import { ApplicationFailure } from '@temporalio/activity';
import { STOP_BAND_ALPHA, worseInStopBand } from '../core/training/distanceBands.js';
import type { TrialSummary } from '../core/training/sweep.js';
import { getModelFiles } from '../core/ml/modelArtifact.js';
import type { ActivityContext } from './context.js';
import type { EvaluatePreviousResult } from './evaluatePrevious.js';
import { type RegisterPolicy } from '../core/training/trainingConfig.js';
import type { RegisterResult } from '../workflows/trainAndRegister/contract.js';

export interface RegisterInput {
  modelName: string;
  workflowId: string;
  runId: string;
  architecture: string;
  best: TrialSummary;
  selectionMetric: string;
  previous: EvaluatePreviousResult;
  policy: RegisterPolicy;
  dataset: { manifestKey: string; manifestSha256: string; deployments: string[]; recordCount: number };
}

/**
 * Registers the winning trial as the model's next version; `if-better` registers it only when it beats the current version
 * on the same test set and is not significantly worse than it in the stop band (laser <= 100 mm), paired on the same frames. Like an MLflow model version's
 * source, the version points at the trial's immutable artifact under runs/, checked by digest,
 * and links it to the trial, the run and the dataset.
 */
export const registerModelVersion =
  ({ stores }: ActivityContext) =>
  async (input: RegisterInput): Promise<RegisterResult> => {
    const { previous, best, selectionMetric } = input;
    const candidate = best.metrics[selectionMetric];
    const incumbent = previous.metrics?.[selectionMetric];
    if (input.policy === 'if-better' && incumbent !== undefined && !(candidate < incumbent)) {
      return {
        registered: false,
        reason: `${selectionMetric} ${candidate.toFixed(2)} does not beat version ${previous.previousVersion} (${incumbent.toFixed(2)}) on the same test set`,
      };
    }
    const worseWhereItStops = input.policy === 'if-better' && previous.stopBand && worseInStopBand(previous.stopBand, STOP_BAND_ALPHA);
    if (worseWhereItStops && incumbent !== undefined) {
      return {
        registered: false,
        reason: `${selectionMetric} ${candidate.toFixed(2)} beats version ${previous.previousVersion} (${incumbent.toFixed(2)}) on the same test set, but it is ${worseWhereItStops}`,
      };
    }
    const files = await getModelFiles(stores.objects, best.artifactKey);
    if (files.sha256 !== best.artifactSha256) {
      const message = `artifact ${best.artifactKey} changed since training (sha256 ${files.sha256} != ${best.artifactSha256})`;
      throw ApplicationFailure.nonRetryable(message, 'ArtifactChanged');
    }
    const comparison =
      previous.previousVersion !== null && previous.metrics
        ? {
            previousVersion: previous.previousVersion,
            metrics: previous.metrics,
            ...(previous.stopBand && { stopBand: previous.stopBand }),
          }
        : null;
    const version = await stores.registry.registerModelVersion({
      modelName: input.modelName,
      artifactKey: best.artifactKey,
      artifactSha256: best.artifactSha256,
      architecture: input.architecture,
      metrics: best.metrics,
      params: { ...best.params },
      trialId: best.trialId,
      workflowId: input.workflowId,
      runId: input.runId,
      datasetKey: input.dataset.manifestKey,
      datasetSha256: input.dataset.manifestSha256,
      sourceDeployments: input.dataset.deployments,
      recordCount: input.dataset.recordCount,
      comparison,
    });
    return {
      registered: true,
      version: version.version,
      artifactKey: version.artifactKey,
      artifactSha256: version.artifactSha256,
      comparison,
    };
  };
