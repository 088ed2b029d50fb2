/**
 * Child-process entry for CPU-bound ML jobs (training a trial, evaluating a model), so they
 * never block a worker's event loop. Receives one job over IPC, sends progress, then one
 * 'done' or 'error' message, and exits.
 */
// First, before anything heavy loads: the job process must not outlive the worker that forked it.
import './exitWithParent.js';
import type { MlJob } from './runMlJob.js';

process.once('message', async (job: MlJob) => {
  // TensorFlow reads this once, when the backend loads (lazily, inside the job).
  if (job.threads) process.env.TF_NUM_INTRAOP_THREADS = String(job.threads);
  try {
    const { evaluateStoredModel, pairedTestErrorsOfStoredModels, runTrial, testErrorsOfStoredModel } = await import('./trialRunner.js');
    const result =
      job.kind === 'train'
        ? await runTrial(job.job, (progress) => process.send?.({ type: 'progress', progress }))
        : job.kind === 'test-errors'
          ? await testErrorsOfStoredModel(job.job)
          : job.kind === 'paired-test-errors'
            ? await pairedTestErrorsOfStoredModels(job.job)
            : await evaluateStoredModel(job.job);
    process.send?.({ type: 'done', result }, () => process.exit(0));
  } catch (err) {
    process.send?.({ type: 'error', message: (err as Error).stack ?? String(err) }, () => process.exit(1));
  }
});
