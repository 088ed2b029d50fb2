import type { RetrainRequest } from '../stores/registry.js';
import type { DriftCheckRecord } from './driftReport.js';

/**
 * What a drift check did about a retrain: the request it recorded (the monitor's ask carries the check as its
 * payload) with what became of it, or why it asked for none.
 */
export type CheckRetrain =
  | ({ asked: true; reason: string } & Pick<RetrainRequest, 'outcome' | 'workflowId' | 'runId' | 'coverage' | 'duplicateOf'> & {
        requestId: number;
      })
  | { asked: false; reason: string };

const NOT_ASKED: Record<Exclude<DriftCheckRecord['verdict'], 'drift'>, string> = {
  'harmless-drift': 'covariate drift alone while the laser says the error holds: reported, not retrained',
  'no-drift': 'no drift found: nothing to retrain',
  'insufficient-data': 'too few frames to decide: nothing asked',
  'no-reference': 'nothing to compare with (no serving version or no reference profile): nothing asked',
  'sensor-fault': 'suspect lasers left out and no drift on the other rovers: a sensor fault is never a retrain',
};

/** The drift check a request of the drift monitor was asked for (its payload's `ask`), if it is one. */
export function driftCheckOf(request: RetrainRequest): DriftCheckRecord | undefined {
  if (request.trigger !== 'drift-monitor') return undefined;
  const ask = (request.payload as { ask?: Partial<DriftCheckRecord> } | null)?.ask;
  return typeof ask?.time === 'number' && typeof ask.deployment === 'string' ? (ask as DriftCheckRecord) : undefined;
}

/** What became of a retrain request, in a person's words. */
export function retrainReasonOf(request: RetrainRequest): string {
  const run = `${request.workflowId}/${request.runId}`;
  switch (request.outcome) {
    case 'started':
      return `started run ${run}`;
    case 'joined':
      return `coalesced into the running run ${run}` + (request.coverage === 'follow-up-run' ? ' (covered by its follow-up run)' : '');
    case 'duplicate':
      return `a repeat of request ${request.duplicateOf}, which acted on this drift already (one retrain per deployment and serving version, asked again only after a retrain that registered nothing: see the monitor's re-arming)`;
    case 'pending':
      return 'recorded while Temporal could not be reached: handed over as soon as it answers';
    case 'ignored': {
      const refused = (request.payload as { refused?: unknown } | null)?.refused;
      return typeof refused === 'string' ? `refused: ${refused}` : 'ignored';
    }
  }
}

const keyOf = (deployment: string, time: number) => `${deployment}@${time}`;

/** Each check with what it did about a retrain, from the model's retrain requests recorded since the oldest check. */
export function withRetrains(checks: DriftCheckRecord[], requests: RetrainRequest[]): (DriftCheckRecord & { retrain: CheckRetrain })[] {
  const byCheck = new Map<string, RetrainRequest>();
  for (const request of requests) {
    const check = driftCheckOf(request);
    if (check) byCheck.set(keyOf(check.deployment, check.time), request);
  }
  return checks.map((check) => {
    if (check.verdict !== 'drift') return { ...check, retrain: { asked: false, reason: NOT_ASKED[check.verdict] } };
    const request = byCheck.get(keyOf(check.deployment, check.time));
    if (!request)
      return {
        ...check,
        retrain: { asked: false, reason: 'no retrain request recorded for this check: its ask failed or is still being made' },
      };
    const { id, outcome, workflowId, runId, coverage, duplicateOf } = request;
    return {
      ...check,
      retrain: { asked: true, requestId: id, outcome, workflowId, runId, coverage, duplicateOf, reason: retrainReasonOf(request) },
    };
  });
}
