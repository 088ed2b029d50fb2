import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// tsx's loader lets the child run a TypeScript entry directly.
export const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export type JobMessage<R> = { type: 'done'; result: R } | { type: 'error'; message: string };

/**
 * Runs a TypeScript entry in a fresh Node process (its own ML backend, its own peak RSS),
 * sends it one job over IPC and resolves with the one result it sends back.
 */
export function runInChildProcess<R>(entry: string, job: unknown, env: NodeJS.ProcessEnv = {}): Promise<R> {
  return new Promise((resolve, reject) => {
    // The child's stdout goes to stderr: stdout is for the tables.
    const child = fork(entry, [], {
      execArgv: ['--import', tsxLoader],
      env: { ...process.env, ...env },
      stdio: ['ignore', 2, 'inherit', 'ipc'],
    });
    let settled = false;
    child.on('message', (msg: JobMessage<R>) => {
      settled = true;
      if (msg.type === 'done') resolve(msg.result);
      else reject(new Error(`${entry} failed: ${msg.message}`));
    });
    child.on('error', (err) => {
      settled = true;
      reject(err);
    });
    child.on('exit', (code, signal) => {
      if (!settled) reject(new Error(`${entry} exited (code ${code}, signal ${signal}) without a result`));
    });
    child.send(job as object);
  });
}

/** The child's side: runs the handler on the one job it receives, reports, and exits. */
export function serveOneJob<J, R>(handler: (job: J) => Promise<R>): void {
  process.once('message', async (job: J) => {
    try {
      const result = await handler(job);
      process.send?.({ type: 'done', result } satisfies JobMessage<R>, () => process.exit(0));
    } catch (err) {
      process.send?.({ type: 'error', message: (err as Error).stack ?? String(err) } satisfies JobMessage<R>, () => process.exit(1));
    }
  });
}
