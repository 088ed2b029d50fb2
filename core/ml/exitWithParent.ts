/** Imported first by the job process (mlJobProcess.ts) for its effect: the process ends with the worker that forked it. */
import { Worker } from 'node:worker_threads';
import { PARENT_PID_ENV } from './runMlJob.js';

const CHECK_EVERY_MS = 250;

/**
 * Ends this process as soon as the process that started it is gone (its parent changes: it was re-parented). A job
 * process otherwise outlives a worker killed with SIGKILL, training beside the retry of its own trial. The check runs
 * on a thread of its own, so it fires while the main thread is inside a long TensorFlow call.
 */
function exitWithParent(parentPid: number): void {
  if (!Number.isSafeInteger(parentPid) || parentPid <= 1) return;
  const watcher = new Worker(
    `const { parentPid, everyMs } = require('node:worker_threads').workerData;
     setInterval(() => { if (process.ppid !== parentPid) process.kill(process.pid, 'SIGKILL'); }, everyMs);`,
    { eval: true, workerData: { parentPid, everyMs: CHECK_EVERY_MS } },
  );
  watcher.unref();
}

exitWithParent(Number(process.env[PARENT_PID_ENV]));
