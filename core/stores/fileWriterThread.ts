import { Worker } from 'node:worker_threads';

const THREAD_SOURCE = `
const fs = require('node:fs');
const path = require('node:path');
const { parentPort } = require('node:worker_threads');
function write({ file, tmp, data }) {
  try {
    try {
      fs.writeFileSync(tmp, data);
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(tmp, data);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    try { fs.rmSync(tmp, { force: true }); } catch {}
    throw err;
  }
}
parentPort.on('message', (job) => {
  try {
    write(job);
    parentPort.postMessage({ id: job.id });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: { message: err.message, code: err.code } });
  }
});
`;

type Reply = { id: number; error?: { message: string; code?: string } };
type Pending = Map<number, { resolve: () => void; reject: (err: Error) => void }>;

/**
 * Whole files written on a thread of their own: to a temp file (its folder made when missing), then renamed into
 * place; a write that fails leaves no temp file. Not libuv's pool: each pool call the event loop makes signals the
 * pool's condition variable, and glibc's pthread_cond_signal waits there until threads it woke before have run,
 * which on two busy cores stopped the API's loop for 5-23 ms (bench/README, "Issue 26, seventh stop"); and a pool
 * held by slow calls (a hung disk's reads, DNS lookups) would hold every frame's write behind them. A message to this
 * thread and its answer go through an eventfd instead.
 */
export class FileWriterThread {
  private thread?: { worker: Worker; pending: Pending };
  private nextId = 1;

  write(file: string, tmp: string, data: Uint8Array): Promise<void> {
    const { worker, pending } = this.thread ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      // Only a thread with writes in flight keeps the process alive.
      if (pending.size === 1) worker.ref();
      worker.postMessage({ id, file, tmp, data });
    });
  }

  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    await thread?.worker.terminate();
  }

  private start() {
    const worker = new Worker(THREAD_SOURCE, { eval: true });
    worker.unref();
    const pending: Pending = new Map();
    worker.on('message', (reply: Reply) => {
      const call = pending.get(reply.id);
      if (!call) return;
      pending.delete(reply.id);
      if (pending.size === 0) worker.unref();
      if (reply.error) call.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
      else call.resolve();
    });
    const stopped = (reason: string) => {
      if (this.thread?.worker === worker) this.thread = undefined;
      for (const call of pending.values()) call.reject(new Error(reason));
      pending.clear();
    };
    worker.on('error', (err) => stopped(`the file writer thread crashed: ${err.message}`));
    worker.on('exit', (code) => stopped(`the file writer thread exited (code ${code})`));
    this.thread = { worker, pending };
    return this.thread;
  }
}
