import fs from 'node:fs';
import os from 'node:os';

/**
 * Lowers the scheduling priority of the calling thread by `steps` nice levels (at most 19), so that the threads
 * answering requests get the cores first when everything is runnable at once. On Linux a thread is a task with its
 * own nice value, and the threads it starts afterwards (TensorFlow's pools, sharp's) take it over; elsewhere, or
 * where the thread cannot be named, nothing changes. Returns the nice value the thread has afterwards.
 */
export function lowerThreadPriority(steps: number): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').at(-1));
    os.setPriority(tid, Math.min(19, os.getPriority(tid) + steps));
    return os.getPriority(tid);
  } catch {
    return undefined;
  }
}
