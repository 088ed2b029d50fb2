import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DatasetFiles } from './parkingFrames.js';
import type { ThroughputResult } from './trainingThroughputJob.js';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
// The same default as setup-keras.sh.
export const venvPython = path.join(process.env.BENCH_KERAS_VENV ?? path.join(benchDir, '../.tools/keras-venv'), 'bin/python');

/** Creates (once) the venv with the tensorflow-cpu wheel tfjs-node's libtensorflow comes from. */
export async function ensureKerasVenv(): Promise<void> {
  await promisify(execFile)('bash', [path.join(benchDir, 'setup-keras.sh')], { maxBuffer: 16 << 20 }).catch((err) => {
    throw new Error(`bench/setup-keras.sh failed: ${err.stderr ?? err.message}`);
  });
}

export interface KerasJob {
  architecture: string;
  dataset: DatasetFiles;
  labelMaxMm: number;
  batchSize: number;
  epochs: number;
  seed: number;
}

/** Runs one of bench/'s Python scripts in the venv with a JSON job as its argument; resolves to the JSON of its last stdout line. */
export function runPythonJob<T>(script: string, job: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(venvPython, [path.join(benchDir, script), JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as T);
      else reject(new Error(`${script} exited ${code}: ${stderr.trim().split('\n').slice(-15).join('\n')}`));
    });
  });
}

/** Trains with Keras in its own Python process (own peak RSS) and returns its timings. */
export function trainWithKeras(job: KerasJob): Promise<ThroughputResult> {
  const { dataset, ...rest } = job;
  return runPythonJob<ThroughputResult>('keras_reference.py', { ...rest, ...dataset });
}
