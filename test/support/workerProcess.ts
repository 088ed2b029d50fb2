import { spawn, type ChildProcess } from 'node:child_process';

/**
 * workers/main.ts as its own process, as deployed: `env` over this process's environment (TEMPORAL_ADDRESS and
 * DATA_DIR at least); its output inherited, or piped for a test that reads it.
 */
export function spawnWorker(env: Record<string, string>, output: 'inherit' | 'pipe' = 'inherit'): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', output, output],
  });
}
