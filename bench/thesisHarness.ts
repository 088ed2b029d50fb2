/**
 * The thesis system's predict path (bench/thesis_predict_server.py: Flask's threaded development server,
 * Keras, OpenCV and scikit-image in the Keras venv) as its own process on a free port, with its stores in
 * a folder of the caller's: the bench drives it with the same rovers as the API and counts its records.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { EdgeFrame } from '../edge/parkingRun.js';
import type { StageCost } from './frameCost.js';
import { runPythonJob, venvPython } from './kerasReference.js';
import type { RoverIdentity } from './roverReplay.js';
import { BENCH_SERVER_NICE, freePort } from './stack.js';

const script = fileURLToPath(new URL('thesis_predict_server.py', import.meta.url));
const READY_DEADLINE_MS = 180_000;
const STOP_DEADLINE_MS = 10_000;

export interface ThesisHarness {
  url: string;
  pid: number;
  /** Records the harness's analysis threads stored for the deployment since an epoch ms. */
  countStored(since: number): number;
  logTail(lines?: number): string;
  /** The exceptions its log shows (Flask logs each with its traceback), by their last line. */
  exceptions(): Record<string, number>;
  close(): Promise<void>;
}

// Werkzeug's line per request; other threads' lines can land inside a traceback.
const REQUEST_LINE = /^\S+ - - \[[^\]]*\] "/;

/** Python tracebacks in a log, counted by their last line (the exception and its message). */
export function exceptionsIn(log: string): Record<string, number> {
  const found: Record<string, number> = {};
  const lines = log.split('\n');
  lines.forEach((line, i) => {
    if (!line.startsWith('Traceback (most recent call last)')) return;
    let end = i + 1;
    while (end < lines.length && (lines[end].startsWith(' ') || lines[end] === '' || REQUEST_LINE.test(lines[end]))) end++;
    const last = (lines[end] ?? 'unknown').trim();
    found[last] = (found[last] ?? 0) + 1;
  });
  return found;
}

export async function startThesisHarness(options: {
  dataDir: string;
  input: { width: number; height: number };
  labelMaxMm: number;
  modelName: string;
  deployment: string;
  clients: RoverIdentity[];
}): Promise<ThesisHarness> {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const port = await freePort();
  const logPath = path.join(options.dataDir, 'thesis-server.log');
  const config = {
    port,
    dataDir: options.dataDir,
    ...options.input,
    labelMaxMm: options.labelMaxMm,
    modelName: options.modelName,
    deployment: options.deployment,
    clients: options.clients,
  };
  const log = fs.openSync(logPath, 'a');
  const child = spawn(venvPython, [script, JSON.stringify(config)], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  // The same priority as the API's event loop (its request threads start from the process's main thread).
  try {
    os.setPriority(child.pid!, BENCH_SERVER_NICE);
  } catch {
    // refused as the API's is: both servers at the rovers' priority
  }
  const logTail = (lines = 30) => {
    try {
      return fs.readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  const running = () => child.exitCode === null && child.signalCode === null;
  const close = async () => {
    if (!running()) return;
    child.kill('SIGTERM');
    await new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
      child.once('exit', () => resolve(clearTimeout(timer)));
    });
  };

  const url = `http://127.0.0.1:${port}`;
  try {
    for (const deadline = Date.now() + READY_DEADLINE_MS; ;) {
      if (!running()) throw new Error(`thesis harness exited (code ${child.exitCode}, signal ${child.signalCode})`);
      if (
        await fetch(`${url}/health`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      if (Date.now() > deadline) throw new Error(`thesis harness: not ready within ${READY_DEADLINE_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } catch (err) {
    await close();
    throw new Error(`${(err as Error).message}; log ${logPath}:\n${logTail(20)}`, { cause: err });
  }

  const records = new Database(path.join(options.dataDir, 'thesis-records.db'), { readonly: true, fileMustExist: true });
  records.pragma('busy_timeout = 5000');
  const storedSince = records.prepare('SELECT count(*) AS n FROM inference WHERE deployment = ? AND time >= ?');
  return {
    url,
    pid: child.pid!,
    countStored: (since) => (storedSince.get(options.deployment, since) as { n: number }).n,
    logTail,
    exceptions: () => exceptionsIn(fs.readFileSync(logPath, 'utf8')),
    close: async () => {
      records.close();
      await close();
    },
  };
}

/** Each stage of the thesis's frame in one Python process, one call after the other (bench/thesis_stage_cost.py). */
export async function thesisStageCost(options: {
  frames: EdgeFrame[];
  input: { width: number; height: number };
  labelMaxMm: number;
  calls: number;
}): Promise<{ engine: string; stages: StageCost[] }> {
  const framesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-thesis-frames-'));
  try {
    options.frames.forEach((frame, i) => fs.writeFileSync(path.join(framesDir, `${String(i).padStart(5, '0')}.jpg`), frame.jpeg));
    return await runPythonJob('thesis_stage_cost.py', {
      framesDir,
      ...options.input,
      labelMaxMm: options.labelMaxMm,
      calls: options.calls,
    });
  } finally {
    fs.rmSync(framesDir, { recursive: true, force: true });
  }
}
