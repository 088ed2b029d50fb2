import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { EvaluationJob, PairedTestErrors, TrialJob, TrialOutcome, TrialProgress } from './trialRunner.js';

/** `threads`: TensorFlow intra-op threads of the job's process (unset: TensorFlow takes every core). */
export type MlJob = (
  | { kind: 'train'; job: TrialJob }
  | { kind: 'evaluate'; job: EvaluationJob }
  | { kind: 'test-errors'; job: EvaluationJob }
  | { kind: 'paired-test-errors'; job: EvaluationJob & { candidatePrefix: string } }
) & {
  threads?: number;
};
type ResultOf<J extends MlJob> = J extends { kind: 'train' }
  ? TrialOutcome
  : J extends { kind: 'test-errors' }
    ? number[]
    : J extends { kind: 'paired-test-errors' }
      ? PairedTestErrors
      : Record<string, number>;
type ChildMessage = { type: 'progress'; progress: TrialProgress } | { type: 'done'; result: unknown } | { type: 'error'; message: string };

/** Hands the job process its parent's pid (core/ml/exitWithParent.ts). */
export const PARENT_PID_ENV = 'ML_JOB_PARENT_PID';

const jobProcessPath = fileURLToPath(new URL('./mlJobProcess.ts', import.meta.url));
// tsx's loader lets the child run the TypeScript entry directly (absolute URL: the cwd may differ).
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Runs an ML job in a child process; aborting `signal` kills it (activity cancellation). */
export function runMlJob<J extends MlJob>(
  job: J,
  onProgress: (p: TrialProgress) => void = () => {},
  signal?: AbortSignal,
): Promise<ResultOf<J>> {
  return new Promise((resolve, reject) => {
    const child = fork(jobProcessPath, [], {
      execArgv: ['--import', tsxLoader],
      env: { ...process.env, [PARENT_PID_ENV]: String(process.pid) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      child.kill('SIGKILL');
      finish(() => reject(signal?.reason ?? new Error('ML job cancelled')));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (msg: ChildMessage) => {
      if (msg.type === 'progress') onProgress(msg.progress);
      else if (msg.type === 'done') finish(() => resolve(msg.result as ResultOf<J>));
      else finish(() => reject(new Error(`${job.kind} job failed: ${msg.message}`)));
    });
    child.on('error', (err) => finish(() => reject(err)));
    child.on('exit', (code, sig) =>
      finish(() => reject(new Error(`${job.kind} process exited (code ${code}, signal ${sig}) before finishing`))),
    );
    child.send(job);
  });
}
