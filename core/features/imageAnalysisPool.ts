import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { ImageCharacteristics } from './fields.js';
import type { RgbImage } from './imageCharacteristics.js';

const threadEntry = fileURLToPath(new URL('./imageAnalysisThread.mjs', import.meta.url));

type ThreadAnswer = { characteristics: ImageCharacteristics } | { error: { message: string; code?: string } };

/** One core stays with the event loop (and TensorFlow's prediction); analysis gets the rest, at least one thread. */
export const defaultAnalysisThreads = () => Math.max(1, os.availableParallelism() - 1);

/**
 * Image characteristics computed on worker threads (piscina), so the API's event loop only
 * parses requests, predicts and queues frames.
 */
export class ImageAnalysisPool {
  private readonly pool: Piscina;

  /** `nice`: levels the threads run below the event loop (Linux), so that answering requests gets the cores first. */
  constructor(threads = defaultAnalysisThreads(), nice = 0) {
    this.pool = new Piscina({ filename: threadEntry, minThreads: threads, maxThreads: threads, workerData: { nice } });
  }

  async characteristicsOf(jpeg: Buffer): Promise<ImageCharacteristics> {
    return this.answerOf(await this.pool.run({ image: jpeg }));
  }

  /**
   * The characteristics of a frame decoded already. Its pixels are copied to the thread, or with `move` transferred
   * when they are the whole of their ArrayBuffer (the caller's view of them is then empty).
   */
  async characteristicsOfPixels(rgb: RgbImage, { move = false } = {}): Promise<ImageCharacteristics> {
    const { buffer, byteOffset, byteLength } = rgb.data;
    const movable = move && buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength;
    return this.answerOf(await this.pool.run({ pixels: rgb }, movable ? { transferList: [buffer] } : {}));
  }

  private answerOf(answer: ThreadAnswer): ImageCharacteristics {
    if ('error' in answer) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
    return answer.characteristics;
  }

  /** Frames waiting for a thread. */
  get queueSize(): number {
    return this.pool.queueSize;
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
