// A worker thread for test/unit/threadPriority.test.ts: changes its own priority and reports the nice values.
import { parentPort, workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const { lowerThreadPriority, setThreadNice } = await tsImport('../../core/threadPriority.ts', import.meta.url);
if (workerData?.set !== undefined) parentPort.postMessage(setThreadNice(workerData.set));
else parentPort.postMessage([lowerThreadPriority(5), lowerThreadPriority(30)]);
