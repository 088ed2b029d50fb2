import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { InvalidImageError, type InputSize } from './imagePixels.js';
import type { FramePixels, ThreadPixels } from './jpegPixels.js';

const threadEntry = fileURLToPath(new URL('./jpegPixelsThread.mjs', import.meta.url));

/** Frames a task carries: small messages, so neither thread spends long (de)serialising one. */
const FRAMES_PER_TASK = 128;

/**
 * The JPEG graph's preprocessing (core/ml/jpegPixels.ts) on a worker thread of its own, so the Temporal worker's event
 * loop never waits on a TensorFlow call. The thread loads tfjs-node and the graph on its first task.
 */
export class JpegPixelsPool {
  private readonly pool: Piscina;
  /** The thread's SavedModels: a folder of this pool's own (a terminated thread runs no exit handler), removed on close. */
  readonly cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-jpeg-pixels-'));

  /** `idleSeconds`: the thread (and its TensorFlow) ends after this long without work, and starts again with the next. */
  constructor(idleSeconds = Infinity) {
    this.pool = new Piscina({ filename: threadEntry, minThreads: 0, maxThreads: 1, idleTimeout: idleSeconds * 1000 });
  }

  /** Starts the thread and loads TensorFlow and the graph for `size` (seconds), while the caller does something else. */
  warm(size: InputSize): void {
    // A failure shows again, and is thrown, on the first pixelsOf.
    this.pool.run({ jpegs: [], width: size.width, height: size.height, cacheDir: this.cacheDir }).catch(() => undefined);
  }

  /** The model input of each JPEG at `size`, in order; a JPEG TensorFlow cannot decode gives an InvalidImageError. */
  async pixelsOf(jpegs: Uint8Array[], size: InputSize): Promise<FramePixels[]> {
    const frameBytes = size.width * size.height * 3;
    const result: FramePixels[] = [];
    for (let start = 0; start < jpegs.length; start += FRAMES_PER_TASK) {
      const chunk = jpegs.slice(start, start + FRAMES_PER_TASK);
      const task = { jpegs: chunk, width: size.width, height: size.height, cacheDir: this.cacheDir };
      const { pixels, failed } = (await this.pool.run(task)) as ThreadPixels;
      const failures = new Map(failed.map((f) => [f.index, f.message]));
      let at = 0;
      chunk.forEach((_, i) => {
        const failure = failures.get(i);
        if (failure !== undefined) return result.push(new InvalidImageError(failure));
        result.push(pixels.subarray(at, at + frameBytes));
        at += frameBytes;
      });
    }
    return result;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
    fs.rmSync(this.cacheDir, { recursive: true, force: true });
  }
}

/** How long the shared pool's thread outlives its last task: the preprocess steps of one retrain reuse it. */
const SHARED_IDLE_SECONDS = 300;
let shared: JpegPixelsPool | undefined;

/**
 * One pool per process for training's preprocessing: its thread takes seconds to load TensorFlow, so it stays for
 * SHARED_IDLE_SECONDS after its last task (idle, it keeps no process alive); its folder goes when the process exits.
 */
export function sharedJpegPixelsPool(): JpegPixelsPool {
  if (!shared) {
    const pool = new JpegPixelsPool(SHARED_IDLE_SECONDS);
    process.once('exit', () => fs.rmSync(pool.cacheDir, { recursive: true, force: true }));
    shared = pool;
  }
  return shared;
}
