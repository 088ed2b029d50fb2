/**
 * Waits for a TrainAndRegister run through the API and says how it is doing: a line whenever its progress
 * changes (the workflow's progress query, with the best finished trial so far, and the epoch each running trial
 * last reported), then the run's outcome. Follows the run when it continues as new.
 */
import type { TrainAndRegisterResult, TrainProgress } from '../workflows/trainAndRegister/contract.js';
import { OperatorError } from '../core/commandLine.js';
import type { ApiCall } from './apiClient.js';

interface RunStatus {
  status: string;
  progress?: TrainProgress | null;
  trialsTraining?: { epoch: number | null; epochs: number | null }[];
  result?: TrainAndRegisterResult;
  continuedAs?: { runId: string } | null;
  links?: { ui?: string };
}

const METRIC = 'test_mae_mm';
const mm = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '-' : `${value.toFixed(2)} mm`);

/** One line of a running run's progress, e.g. "training: 1/4 trials done; running: epoch 12/30, epoch 3/30; best so far 5.21 mm (t0)". */
export function progressLine(run: Pick<RunStatus, 'progress' | 'trialsTraining'>): string {
  const p = run.progress;
  if (!p) return 'running (no progress yet: is a worker up?)';
  const parts = [`${p.step}: ${p.trialsDone}/${p.trialsTotal} trials done`];
  const epochs = (run.trialsTraining ?? []).map((t) => (t.epoch === null ? 'starting' : `epoch ${t.epoch}/${t.epochs}`));
  if (p.step === 'training' && epochs.length) parts.push(`running: ${epochs.join(', ')}`);
  const { best } = p;
  if (best) {
    const metric = best.metric === METRIC ? 'test MAE' : best.metric;
    parts.push(`best so far ${mm(best.value)} ${metric} (${best.trialId.replace(/^.*-(t\d+)$/, '$1')})`);
  }
  if (p.coalescedRequests > 1) parts.push(`${p.coalescedRequests} asks joined`);
  return parts.join('; ');
}

/** The run's outcome, e.g. "registered v3: test MAE 4.90 mm vs 5.60 mm for v2 on the same test set". */
export function outcomeLine(result: TrainAndRegisterResult): string {
  const { registration, selection, trials } = result;
  const best = selection.best;
  const params = Object.entries(best.params)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const of = `best of ${trials.length} trial(s): ${params}`;
  if (!registration.registered) return `not registered: ${registration.reason} (${of})`;
  const candidate = mm(best.metrics[METRIC]);
  const comparison = registration.comparison;
  const versus = comparison
    ? ` vs ${mm(comparison.metrics[METRIC])} for v${comparison.previousVersion} on the same test set`
    : registration.version === 1
      ? ' (the first version)'
      : ' (the previous version was not measured on this test set)';
  return `registered v${registration.version}: test MAE ${candidate}${versus} (${of})`;
}

/** Polls the run every `pollMs` until it completes; returns its result. A run that fails or is cancelled is an OperatorError. */
export async function waitForTrainingRun(
  api: ApiCall,
  run: { workflowId: string; runId: string },
  { log, pollMs = 3000 }: { log: (line: string) => void; pollMs?: number },
): Promise<TrainAndRegisterResult> {
  let { runId } = run;
  let last = '';
  for (;;) {
    const status = (await api('GET', `/workflows/${run.workflowId}/runs/${runId}`)) as unknown as RunStatus;
    if (status.status === 'COMPLETED') return status.result!;
    if (status.status === 'CONTINUED_AS_NEW' && status.continuedAs) {
      log(`continued as run ${status.continuedAs.runId} (asks that came after its dataset was assembled)`);
      runId = status.continuedAs.runId;
      continue;
    }
    if (status.status !== 'RUNNING')
      throw new OperatorError(
        `training run ${run.workflowId}/${runId} ended ${status.status}${status.links?.ui ? `: ${status.links.ui}` : ''}`,
      );
    const line = progressLine(status);
    if (line !== last) log(line);
    last = line;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
