import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ImageAnalysisPool } from '../core/features/imageAnalysisPool.js';
import type { AnalysisStats, InferenceRecord, MeasurementStore } from '../core/stores/measurements.js';
import type { ObjectStore } from '../core/stores/objects.js';

/** What /predict hands over after answering: everything one measurement record needs. */
export type FrameToAnalyse = Omit<InferenceRecord, 'error' | 'imageKey' | 'characteristics'> & { requestId: string; image: Buffer };

export interface FrameAnalysisOptions {
  objects: ObjectStore;
  measurements: MeasurementStore;
  /** Frames wait here on disk while a store is down or the queue is full. */
  spoolDir: string;
  queueLimit: number;
  concurrency?: number;
  retryIntervalMs?: number;
  /** Worker threads computing image characteristics (default: all cores but one). */
  analysisThreads?: number;
  /** How often the pipeline's own stats are written to the measurement store (default 10 s). */
  statsIntervalMs?: number;
  /** This process in those stats (default host:pid). */
  instance?: string;
  log: { warn(obj: unknown, msg?: string): void; error(obj: unknown, msg?: string): void };
}

export const imageKeyOf = (frame: Pick<FrameToAnalyse, 'deployment' | 'requestId'>) =>
  `features/${frame.deployment}/${frame.requestId}.jpg`;

/**
 * Stores each frame's JPEG, extracts its image characteristics and writes its record,
 * after the prediction was answered. A bounded in-memory queue feeds it; when the queue is
 * full or a store fails, the frame goes to a durable spool on disk and is replayed later.
 * The characteristics are computed on a worker-thread pool, off the event loop.
 */
export class FrameAnalysis {
  private readonly queue: FrameToAnalyse[] = [];
  private inFlight = 0;
  private replaying = false;
  private idleWaiters: (() => void)[] = [];
  private readonly replayTimer: NodeJS.Timeout;
  private readonly statsTimer: NodeJS.Timeout;
  private readonly images: ImageAnalysisPool;
  /** `failed` counts every analysis that threw: rejected frames and store failures (spooled or on replay). */
  readonly counters = { processed: 0, spooled: 0, replayed: 0, rejected: 0, failed: 0 };

  constructor(private readonly options: FrameAnalysisOptions) {
    this.images = new ImageAnalysisPool(options.analysisThreads);
    this.replayTimer = setInterval(() => void this.replaySpool(), options.retryIntervalMs ?? 5000);
    this.replayTimer.unref();
    this.statsTimer = setInterval(() => void this.writeStats(), options.statsIntervalMs ?? 10_000);
    this.statsTimer.unref();
  }

  enqueue(frame: FrameToAnalyse): void {
    if (this.queue.length >= this.options.queueLimit) {
      void this.spool(frame);
      return;
    }
    this.queue.push(frame);
    this.pump();
  }

  status() {
    return { queued: this.queue.length, inFlight: this.inFlight, ...this.counters };
  }

  /** Resolves when nothing is queued or in flight (the spool may still hold frames). */
  async idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async spooledCount(): Promise<number> {
    return (await this.spoolEntries()).length;
  }

  /** Processes spooled frames oldest first; stops at the first one that fails again. */
  async replaySpool(): Promise<number> {
    if (this.replaying) return 0;
    this.replaying = true;
    let replayed = 0;
    try {
      for (const metaFile of await this.spoolEntries()) {
        const metaPath = path.join(this.options.spoolDir, metaFile);
        const imagePath = metaPath.replace(/\.json$/, '.jpg');
        const meta = JSON.parse(await fs.readFile(metaPath, 'utf8')) as Omit<FrameToAnalyse, 'image'>;
        const frame = { ...meta, image: await fs.readFile(imagePath) };
        try {
          await this.analyse(frame);
        } catch (err) {
          this.counters.failed++;
          this.options.log.warn({ err: (err as Error).message, pending: metaFile }, 'spool replay paused: store still failing');
          break;
        }
        await fs.rm(metaPath);
        await fs.rm(imagePath, { force: true });
        replayed++;
        this.counters.replayed++;
      }
    } finally {
      this.replaying = false;
    }
    return replayed;
  }

  /** One sample of the pipeline's health for the system dashboard; never throws (a down store is logged). */
  async writeStats(): Promise<AnalysisStats | undefined> {
    const stats: AnalysisStats = {
      time: Date.now(),
      instance: this.options.instance ?? `${os.hostname()}:${process.pid}`,
      queueDepth: this.queue.length,
      spooled: await this.spooledCount(),
      written: this.counters.processed + this.counters.replayed,
      failed: this.counters.failed,
    };
    try {
      await this.options.measurements.writeAnalysisStats(stats);
      return stats;
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message }, 'analysis stats not written');
      return undefined;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.replayTimer);
    clearInterval(this.statsTimer);
    await this.images.close();
  }

  private pump() {
    const limit = this.options.concurrency ?? 2;
    while (this.inFlight < limit && this.queue.length > 0) {
      const frame = this.queue.shift()!;
      this.inFlight++;
      this.analyse(frame)
        .then(() => this.counters.processed++)
        .catch(async (err) => {
          this.counters.failed++;
          if ((err as { code?: string }).code === 'invalid_image') {
            this.counters.rejected++;
            this.options.log.error({ err, requestId: frame.requestId }, 'frame cannot be analysed');
            return;
          }
          this.options.log.warn({ err: (err as Error).message, requestId: frame.requestId }, 'store failed; frame spooled');
          await this.spool(frame);
        })
        .finally(() => {
          this.inFlight--;
          this.pump();
          if (this.queue.length === 0 && this.inFlight === 0) this.idleWaiters.splice(0).forEach((w) => w());
        });
    }
  }

  private async analyse(frame: FrameToAnalyse): Promise<void> {
    const imageKey = imageKeyOf(frame);
    const characteristics = await this.images.characteristicsOf(frame.image);
    await this.options.objects.put(imageKey, frame.image, 'image/jpeg');
    const error = frame.prediction !== null && frame.sensorValue !== null ? Math.abs(frame.prediction - frame.sensorValue) : null;
    const record: InferenceRecord = {
      time: frame.time,
      deployment: frame.deployment,
      client: frame.client,
      modelName: frame.modelName,
      modelVersion: frame.modelVersion,
      prediction: frame.prediction,
      sensorValue: frame.sensorValue,
      error,
      latencyMs: frame.latencyMs,
      imageKey,
      characteristics,
    };
    await this.options.measurements.write([record]);
  }

  private async spool(frame: FrameToAnalyse): Promise<void> {
    const { image, ...meta } = frame;
    const base = path.join(this.options.spoolDir, `${String(frame.time).padStart(15, '0')}-${frame.requestId}`);
    try {
      await fs.mkdir(this.options.spoolDir, { recursive: true });
      await fs.writeFile(`${base}.jpg`, image);
      // The .json appears last: a spool entry exists only once both files are whole.
      await fs.writeFile(`${base}.json.tmp`, JSON.stringify(meta));
      await fs.rename(`${base}.json.tmp`, `${base}.json`);
      this.counters.spooled++;
    } catch (err) {
      this.options.log.error({ err, requestId: frame.requestId }, 'spool write failed: frame lost');
    }
  }

  private async spoolEntries(): Promise<string[]> {
    try {
      return (await fs.readdir(this.options.spoolDir)).filter((f) => f.endsWith('.json')).sort();
    } catch {
      return [];
    }
  }
}
