import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTES } from '../../workflows/shared.js';

export const temporalBinary = path.resolve('.tools/bin/temporal');

/** A real Temporal dev server (the `temporal` CLI the setup installs) on free ports. Missing binary is a failure, never a skip. */
export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  if (!fs.existsSync(temporalBinary)) throw new Error(`${temporalBinary} is missing: run scripts/setup.sh (it installs the temporal CLI)`);
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBinary },
      searchAttributes: SEARCH_ATTRIBUTES,
      extraArgs: ['--headless'],
    },
  });
}

export interface DevServer {
  address: string;
  /** SIGKILL: the server is gone at once, as in a crash. */
  kill(): Promise<void>;
}

/** Temporal's dev server as a process of its own on a given port and database file, for outage tests (kill it, start it again). */
export async function startDevServer(port: number, dbFile: string): Promise<DevServer> {
  if (!fs.existsSync(temporalBinary)) throw new Error(`${temporalBinary} is missing: run scripts/setup.sh (it installs the temporal CLI)`);
  const args = ['server', 'start-dev', '--headless', '--port', String(port), '--db-filename', dbFile, '--log-level', 'error'];
  for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=Keyword`);
  const child = spawn(temporalBinary, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: '2s' });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      break;
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the dev server on ${address} did not start`, { cause: err });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return {
    address,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export { freePort } from './apiProcess.js';
