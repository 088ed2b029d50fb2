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
    const tid = threadId();
    os.setPriority(tid, Math.min(19, os.getPriority(tid) + steps));
    return os.getPriority(tid);
  } catch {
    return undefined;
  }
}

/**
 * Sets the calling thread's nice value (Linux; -20..19). Below the value it has, Linux asks for CAP_SYS_NICE or an
 * RLIMIT_NICE that allows it (Docker's `ulimits: nice`); refused, the thread keeps its value and `refused` says why.
 * Threads started afterwards take the value over. Elsewhere: `undefined`, nothing changes.
 */
export function setThreadNice(nice: number): { nice: number; refused?: string } | undefined {
  if (process.platform !== 'linux') return undefined;
  const tid = threadId();
  try {
    os.setPriority(tid, nice);
    return { nice: os.getPriority(tid) };
  } catch (err) {
    return { nice: os.getPriority(tid), refused: (err as Error).message };
  }
}

/** The calling thread's id (a Linux task id), which setpriority takes as a process id to change that thread alone. */
function threadId(): number {
  return Number(fs.readlinkSync('/proc/thread-self').split('/').at(-1));
}
