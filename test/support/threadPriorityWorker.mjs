// A worker thread for test/unit/threadPriority.test.ts: lowers its own priority twice and reports the nice values.
import { parentPort } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const { lowerThreadPriority } = await tsImport('../../core/threadPriority.ts', import.meta.url);
parentPort.postMessage([lowerThreadPriority(5), lowerThreadPriority(30)]);
