import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { lowerThreadPriority } from '../../core/threadPriority.js';

/** Work threads run below the event loop: a thread lowers its own priority, and the process's main thread keeps its own. */
describe.runIf(process.platform === 'linux')('lowerThreadPriority', () => {
  it("lowers the calling thread's nice value only, capped at 19", async () => {
    const main = os.getPriority();
    const worker = new Worker(new URL('../support/threadPriorityWorker.mjs', import.meta.url));
    const [once, capped] = await new Promise<number[]>((resolve, reject) => worker.once('message', resolve).once('error', reject));
    await worker.terminate();
    expect(once).toBe(Math.min(19, main + 5));
    expect(capped).toBe(19);
    expect(os.getPriority()).toBe(main);
    expect(lowerThreadPriority(0)).toBe(main);
  });
});
