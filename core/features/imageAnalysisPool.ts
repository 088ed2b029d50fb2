import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { ImageCharacteristics } from './fields.js';
import type { RgbImage } from './imageCharacteristics.js';

const threadEntry = fileURLToPath(new URL('./imageAnalysisThread.mjs', import.meta.url));

/**
 * A frame to analyse: its JPEG, or its pixels decoded already. Pixels are copied to the thread, or with `move`
 * transferred when they are the whole of their ArrayBuffer (the caller's view of them is then empty).
 */
export type AnalysisInput = { jpeg: Buffer } | { pixels: RgbImage; move?: boolean };

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

  /**
   * The characteristics of each frame, computed on one thread as one task (one message and one wake-up of the thread
   * for them all); a frame that cannot be read gets its own error (`code` kept) without failing the others.
   */
  async characteristicsOfFrames(frames: AnalysisInput[]): Promise<(ImageCharacteristics | Error)[]> {
    const transferList: ArrayBuffer[] = [];
    const task = frames.map((frame) => {
      if ('jpeg' in frame) return { image: frame.jpeg };
      const { buffer, byteOffset, byteLength } = frame.pixels.data;
      const movable = frame.move && buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength;
      if (movable) transferList.push(buffer);
      return { pixels: frame.pixels };
    });
    const answers: ThreadAnswer[] = await this.pool.run({ frames: task }, { transferList });
    return answers.map((answer) =>
      'error' in answer ? Object.assign(new Error(answer.error.message), { code: answer.error.code }) : answer.characteristics,
    );
  }

  async characteristicsOf(jpeg: Buffer): Promise<ImageCharacteristics> {
    const [answer] = await this.characteristicsOfFrames([{ jpeg }]);
    if (answer instanceof Error) throw answer;
    return answer;
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
