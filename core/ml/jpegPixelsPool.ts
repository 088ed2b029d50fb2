import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { InvalidImageError, type InputSize } from './imagePixels.js';
import type { FramePixels } from './jpegPixels.js';

const threadEntry = fileURLToPath(new URL('./jpegPixelsThread.mjs', import.meta.url));

type ThreadAnswer = { pixels: (Uint8Array | { error: { message: string; code: string } })[] };

/**
 * The JPEG graph's preprocessing (core/ml/jpegPixels.ts) on a worker thread of its own, so the Temporal worker's event
 * loop never waits on a TensorFlow call. The thread loads tfjs-node and the graph on its first task.
 */
export class JpegPixelsPool {
  private readonly pool = new Piscina({ filename: threadEntry, minThreads: 1, maxThreads: 1, idleTimeout: Infinity });
  /** The thread's SavedModels: a folder of this pool's own (a terminated thread runs no exit handler), removed on close. */
  readonly cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-jpeg-pixels-'));

  /** The model input of each JPEG at `size`, in order; a JPEG TensorFlow cannot decode gives an InvalidImageError. */
  async pixelsOf(jpegs: Uint8Array[], size: InputSize): Promise<FramePixels[]> {
    const answer = (await this.pool.run({ jpegs, width: size.width, height: size.height, cacheDir: this.cacheDir })) as ThreadAnswer;
    return answer.pixels.map((p) => (p instanceof Uint8Array ? p : new InvalidImageError(p.error.message)));
  }

  async close(): Promise<void> {
    await this.pool.destroy();
    fs.rmSync(this.cacheDir, { recursive: true, force: true });
  }
}
