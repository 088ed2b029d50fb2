/** The lines a person reads about a run: its current details in the Web UI while it runs, and its outcome. */
import type { RegisterResult, TrainProgress } from './contract.js';

const mm = (value: number) => `${value.toFixed(2)}`;

/** One line of where the run is, e.g. `training: 3/8 trials done, best test_mae_mm 4.91 (trial-2)`. */
export function progressLine(progress: TrainProgress): string {
  const parts: string[] = [progress.step];
  if (progress.step === 'training' || progress.trialsDone > 0) parts.push(`${progress.trialsDone}/${progress.trialsTotal} trials done`);
  if (progress.best) parts.push(`best ${progress.best.metric} ${mm(progress.best.value)} (${progress.best.trialId})`);
  if (progress.coalescedRequests > 1) parts.push(`${progress.coalescedRequests} asks coalesced`);
  return parts.length === 1 ? parts[0] : `${parts[0]}: ${parts.slice(1).join(', ')}`;
}

/** What the run did, e.g. `registered distance v3: test_mae_mm 4.90 vs v2 5.60` or `not registered: ...`. */
export function outcomeLine(modelName: string, registration: RegisterResult, metric: string, bestValue: number): string {
  if (!registration.registered) return `not registered: ${registration.reason}`;
  const previous = registration.comparison;
  const against =
    previous && previous.metrics[metric] !== undefined
      ? ` vs v${previous.previousVersion} ${mm(previous.metrics[metric])}`
      : ' (first version)';
  return `registered ${modelName} v${registration.version}: ${metric} ${mm(bestValue)}${against}`;
}
