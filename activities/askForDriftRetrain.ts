import { ApplicationFailure } from '@temporalio/activity';
import type { DriftCheckRecord } from '../core/drift/driftReport.js';
import { driftDedupeKey } from '../core/drift/driftReport.js';
import { ControlError, isTemporalUnavailable } from '../control/errors.js';
import { requestRetrain } from '../control/retrainRequests.js';
import type { ActivityContext } from './context.js';
import type { DriftRetrainAsk } from '../workflows/checkDrift/contract.js';

/**
 * Asks for a retrain of the drifted deployment's model through the same path as the Grafana webhook: recorded
 * first, then signalWithStart on the model's TrainAndRegister id, so it coalesces with any other ask. Its
 * dedupe key is the deployment and serving version, so one drift asks once whoever notices it first.
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
            drift: {
              deployment: check.deployment,
              modelVersion: check.modelVersion,
              kinds: check.kinds,
              summary: check.summary,
              windowFrames: check.windowFrames,
              checkedAt: check.time,
            },
          },
          payload: check,
          extraDeployments: [check.deployment],
          dedupeKey: driftDedupeKey(check.deployment, check.modelVersion),
          // A run whose dataset was assembled after the check covers it.
          observedAt: check.time,
        },
      );
      return {
        outcome: answer.outcome,
        requestId: answer.requestId,
        workflowId: answer.workflowId,
        runId: answer.runId,
        ...(answer.duplicateOf !== undefined ? { duplicateOf: answer.duplicateOf } : {}),
      };
    } catch (err) {
      if (isTemporalUnavailable(err)) return { outcome: 'pending', requestId: null, workflowId: null, runId: null, reason: err.message };
      if (err instanceof ControlError && err.kind !== 'unavailable')
        return { outcome: 'refused', requestId: null, workflowId: null, runId: null, reason: err.message };
      throw err;
    }
  };
