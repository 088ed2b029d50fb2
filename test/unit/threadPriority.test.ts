import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { lowerThreadPriority } from '../../core/threadPriority.js';

function inWorker<T>(workerData?: unknown): Promise<T> {
  const worker = new Worker(new URL('../support/threadPriorityWorker.mjs', import.meta.url), { workerData });
  return new Promise<T>((resolve, reject) => worker.once('message', resolve).once('error', reject)).finally(() => worker.terminate());
}

/** Work threads run below the event loop: a thread lowers its own priority, and the process's main thread keeps its own. */
describe.runIf(process.platform === 'linux')('lowerThreadPriority', () => {
  it("lowers the calling thread's nice value only, capped at 19", async () => {
    const main = os.getPriority();
    const [once, capped] = await inWorker<number[]>();
    expect(once).toBe(Math.min(19, main + 5));
    expect(capped).toBe(19);
    expect(os.getPriority()).toBe(main);
    expect(lowerThreadPriority(0)).toBe(main);
  });
});

/** EVENT_LOOP_NICE: the API's event loop asks for a nice value; below the current one it needs CAP_SYS_NICE or RLIMIT_NICE. */
describe.runIf(process.platform === 'linux')('setThreadNice', () => {
  it("sets the calling thread's nice value only", async () => {
    const main = os.getPriority();
    expect(await inWorker({ set: Math.min(19, main + 3) })).toEqual({ nice: Math.min(19, main + 3) });
    expect(os.getPriority()).toBe(main);
  });

  // CI runs as root; elsewhere a raise is refused (EACCES) and the answer says so, keeping the nice value it had.
  it('raises the priority where the process may, and says why where it may not', async () => {
    const main = os.getPriority();
    const answer = await inWorker<{ nice: number; refused?: string }>({ set: main - 4 });
    if (process.getuid?.() === 0) expect(answer).toEqual({ nice: main - 4 });
    else expect(answer).toEqual({ nice: main, refused: expect.stringMatching(/EACCES|permission/i) });
    expect(os.getPriority()).toBe(main);
  });
});
