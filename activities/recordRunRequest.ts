import type { TrainAndRegisterRequest } from '../workflows/trainAndRegister/contract.js';
import type { ActivityContext } from './context.js';

export interface RecordRunRequestInput {
  workflowId: string;
  runId: string;
  /** Epoch ms the run started: the request is looked for from a while before it. */
  startedAt: number;
  input: TrainAndRegisterRequest;
}

/** A request recorded by another worker, whose clock may differ from this one's by up to this. */
const CLOCK_SKEW_MS = 10 * 60_000;

/**
 * Records a run that was started without the API (`temporal workflow start`, a script on the Temporal client) as
 * the model's retrain request, started, so the model's retrain requests list every run however it began. Its
 * payload holds no `request`, so the API's hand-over of pending asks never acts on it. Idempotent: a retried
 * attempt finds the request of its run by dedupe key and only settles it. Returns the request's id.
 */
export const recordRunRequest =
  ({ stores }: ActivityContext) =>
  async ({ workflowId, runId, startedAt, input }: RecordRunRequestInput): Promise<number> => {
    const { registry } = stores;
    const dedupeKey = `run:${workflowId}/${runId}`;
    const trigger = input.trigger?.kind ?? 'cli';
    const since = new Date(startedAt - CLOCK_SKEW_MS).toISOString();
    let request = (await registry.listRetrainRequests({ modelName: input.modelName, trigger, since })).find(
      (r) => r.dedupeKey === dedupeKey,
    );
    if (!request) {
      const payload = { startedOutsideApi: { workflowId, runId }, input };
      [{ request }] = await registry.recordRetrainRequests([{ modelName: input.modelName, trigger, payload, dedupeKey }], { claim: true });
    }
    if (request.outcome === 'pending')
      await registry.settleRetrainRequests([request.id], { outcome: 'started', workflowId, runId, coverage: 'this-run' });
    return request.id;
  };
