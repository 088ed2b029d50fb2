import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DatasetFiles } from './parkingFrames.js';
import type { ThroughputResult } from './trainingThroughputJob.js';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
// The same default as setup-keras.sh.
const venvPython = path.join(process.env.BENCH_KERAS_VENV ?? path.join(benchDir, '../.tools/keras-venv'), 'bin/python');

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

/** Trains with Keras in its own Python process (own peak RSS) and returns its timings. */
export function trainWithKeras(job: KerasJob): Promise<ThroughputResult> {
  const { dataset, ...rest } = job;
  const arg = JSON.stringify({ ...rest, ...dataset });
  return new Promise((resolve, reject) => {
    const child = spawn(venvPython, [path.join(benchDir, 'keras_reference.py'), arg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as ThroughputResult);
      else reject(new Error(`keras_reference.py exited ${code}: ${stderr.trim().split('\n').slice(-15).join('\n')}`));
    });
  });
}
