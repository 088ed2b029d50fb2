import { ApplicationFailure } from '@temporalio/activity';
import type { DriftCheckRecord } from '../core/drift/driftReport.js';
import { driftDedupeKey } from '../core/drift/driftReport.js';
import { ControlError, isTemporalUnavailable } from '../control/errors.js';
import { askAgainIfRearmed, driftEvidenceOf } from '../control/driftRearm.js';
import { requestRetrain, type RetrainAnswer } from '../control/retrainRequests.js';
import type { ActivityContext } from './context.js';
import type { DriftRetrainAsk } from '../workflows/checkDrift/contract.js';

/**
 * Asks for a retrain of the drifted deployment's model through the same path as the Grafana webhook: recorded
 * first, then signalWithStart on the model's TrainAndRegister id, so it coalesces with any other ask. Its
 * dedupe key is the deployment and serving version, so one drift asks once whoever notices it first; when the retrain
 * it asked for registered nothing, the drift is asked for again under the re-arming rules (control/driftRearm.ts).
 * With Temporal unreachable the ask stays recorded as `pending`, and the hand-over of pending asks (in the worker and
 * the API) gives it to Temporal when it is back.
 */
export const askForDriftRetrain =
  ({ stores, temporal }: ActivityContext) =>
  async (check: DriftCheckRecord): Promise<DriftRetrainAsk> => {
    if (!temporal) throw ApplicationFailure.nonRetryable('this worker was started without a Temporal client for the drift monitor');
    if (check.verdict !== 'drift' || check.modelVersion === null) {
      throw ApplicationFailure.nonRetryable(`a retrain is asked only for drift, not for "${check.verdict}"`);
    }
    try {
      const answer = await requestRetrain(
        { registry: stores.registry, temporal: temporal.client, temporalUi: temporal.ui },
        {
          modelName: check.modelName,
          trigger: {
            kind: 'drift-monitor',
            by: `drift monitor: ${check.kinds.join(', ')} drift on ${check.deployment}`,
            drift: driftEvidenceOf(check),
          },
          payload: check,
          extraDeployments: [check.deployment],
          dedupeKey: driftDedupeKey(check.deployment, check.modelVersion),
          // A run whose dataset was assembled after the check covers it.
          observedAt: check.time,
        },
      );
      if (answer.outcome === 'duplicate' && answer.duplicateOf !== undefined) {
        // The drift was asked for already: ask again if that retrain registered nothing (core/drift/rearm.ts).
        const deps = {
          registry: stores.registry,
          measurements: stores.measurements,
          objects: stores.objects,
          temporal: temporal.client,
          temporalUi: temporal.ui,
        };
        const { decision, answer: reask } = await askAgainIfRearmed(deps, check, answer.duplicateOf);
        if (reask) return { ...askOf(reask), rearmOf: decision.of };
        return { ...askOf(answer), rearm: { state: decision.state, reason: decision.reason } };
      }
      return askOf(answer);
    } catch (err) {
      if (isTemporalUnavailable(err)) return { outcome: 'pending', requestId: null, workflowId: null, runId: null, reason: err.message };
      if (err instanceof ControlError && err.kind !== 'unavailable')
        return { outcome: 'refused', requestId: null, workflowId: null, runId: null, reason: err.message };
      throw err;
    }
  };

const askOf = (answer: RetrainAnswer): DriftRetrainAsk => ({
  outcome: answer.outcome,
  requestId: answer.requestId,
  workflowId: answer.workflowId,
  runId: answer.runId,
  ...(answer.duplicateOf !== undefined ? { duplicateOf: answer.duplicateOf } : {}),
});
