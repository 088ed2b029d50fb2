import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImageAnalysisPool, type AnalysisInput } from '../core/features/imageAnalysisPool.js';
import { frameImageKey } from '../core/stores/objectKeys.js';
import type { AnalysisStats, InferenceRecord, MeasurementStore } from '../core/stores/measurements.js';
import type { ObjectStore } from '../core/stores/objects.js';
import type { ImageCharacteristics } from '../core/features/fields.js';
import type { AnalysisPixels } from '../core/features/imageCharacteristics.js';
import type { DecodedFrame } from '../core/ml/imagePixels.js';
import { FrameSpool, SpoolCorruptError, SpoolFullError, type SpoolEntry } from './frameSpool.js';
import { ItemFailure, MicroBatcher } from '../serving/microBatcher.js';
import { readingStatus } from '../core/sensors/laserSpec.js';
import type { RegistryStore } from '../core/stores/registry.js';
import { DriftSummaries } from './driftSummaries.js';

/** What /predict hands over: everything one measurement record needs. */
export type FrameToAnalyse = Omit<InferenceRecord, 'error' | 'imageKey' | 'characteristics' | 'shadow'> & {
  requestId: string;
  image: Buffer;
  /** The image as /predict decoded it for the analysis (decodeForAnalysis): analysed without a second decode (never spooled). */
  pixels?: AnalysisPixels;
  /** During a rollout: the version of the same model that predicts on the frame in shadow, after the answer. */
  shadowVersion?: number | null;
};

/** A rollout's shadow prediction in mm of one version for one image. */
export type ShadowPredictor = (modelName: string, version: number, image: Buffer | DecodedFrame) => Promise<number>;

type FrameMeta = Omit<FrameToAnalyse, 'image' | 'pixels'>;

export { SpoolFullError };

export interface FrameAnalysisOptions {
  objects: ObjectStore;
  measurements: MeasurementStore;
  /** With it, stored frames are counted into the drift monitor's per-minute summaries (ingest/driftSummaries.ts). */
  registry?: Pick<RegistryStore, 'getModelVersion'>;
  /** How often those summaries are written (default 10 s). */
  driftSummaryFlushMs?: number;
  /** The write-ahead spool: every accepted frame is here until its object and record are stored. */
  spoolDir: string;
  /** Frames whose image is held in memory for analysis (beyond that they wait on disk only). */
  queueLimit: number;
  /** Image bytes held in memory for analysis (default 64 MiB). */
  queueMaxBytes?: number;
  /** Bytes the spool may hold on disk before /predict is refused (default 1 GiB). */
  spoolMaxBytes?: number;
  spoolSegmentBytes?: number;
  /** Frames analysed at once (default 16): their records are written together. */
  concurrency?: number;
  /** Pause after a store failed before spooled frames are tried again. */
  retryIntervalMs?: number;
  /** Worker threads computing image characteristics (default: all cores but one). */
  analysisThreads?: number;
  /** Nice levels the analysis threads run below the event loop (Linux; default 0). */
  analysisNice?: number;
  /** How often the pipeline's own stats are written to the measurement store (default 10 s). */
  statsIntervalMs?: number;
  /** This process in those stats (default host:pid). */
  instance?: string;
  /** Predicts with a rollout's shadow version; without it, frames keep no shadow prediction. */
  shadow?: ShadowPredictor;
  log: { info?(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void; error(obj: unknown, msg?: string): void };
  /** Told the size of each task of an analysis thread and of each write of records (the API's metrics). */
  metrics?: { analysisBatch(frames: number): void; recordBatch(records: number): void };
}

interface Queued {
  entry: SpoolEntry<FrameMeta>;
  /** Absent when the frame waits on disk only. */
  image?: Buffer;
  pixels?: AnalysisPixels;
  /** What it counts in `heldBytes` while queued or analysed (its pixels may move to an analysis thread meanwhile). */
  heldBytes?: number;
}

/** Records of frames analysed close together go to the measurement store in one write. */
const RECORD_BATCH = { maxItems: 64, windowMs: 20 };

/**
 * Frames whose analysis starts in the same turn of the event loop (a group commit of the spool accepts several at
 * once) go to an analysis thread as one task: one message and one wake-up of the thread for them all (bench/README,
 * "Issue 26, ninth stop"). Bounded so that one task never holds the thread for long.
 */
const ANALYSIS_BATCH = { maxItems: 16, windowMs: 0 };

/** How often `drain` looks whether the spool is empty. */
const DRAIN_POLL_MS = 100;

const heldBytesOf = (item: Queued) => (item.image?.length ?? 0) + (item.pixels?.data.length ?? 0);

/**
 * Makes each accepted frame durable, then stores its JPEG, extracts its image characteristics
 * and writes its record. `enqueue` resolves once the frame is in the write-ahead spool on disk,
 * so a frame the API acknowledged survives a crash; it leaves the spool only after the object
 * and the record were written. Frames are analysed from memory while the in-memory queue has
 * room (in frames and bytes), otherwise from disk; after a store failure they wait on disk and
 * are tried again, oldest first. Characteristics are computed on a worker-thread pool.
 */
export class FrameAnalysis {
  private readonly queue: Queued[] = [];
  /** Durable frames not in memory: waiting for room, or for a failing store to come back. */
  private readonly parked: SpoolEntry<FrameMeta>[] = [];
  private inFlight = 0;
  /** The frames being analysed now (taken out of `queue` or `parked`). */
  private readonly analysing = new Set<SpoolEntry<FrameMeta>>();
  private appending = 0;
  private heldBytes = 0;
  private retryAfter = 0;
  private replaying: Promise<number> | undefined;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly replayTimer: NodeJS.Timeout;
  /** Set while a store failure's retry pause runs: the parked frames are taken up as soon as it is over. */
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly statsTimer: NodeJS.Timeout;
  private readonly images: ImageAnalysisPool;
  private readonly characteristics: MicroBatcher<AnalysisInput, ImageCharacteristics>;
  private readonly records: MicroBatcher<InferenceRecord, void>;
  private readonly opened: Promise<FrameSpool<FrameMeta>>;
  private spool: FrameSpool<FrameMeta> | undefined;
  private lastShadowFailure: string | undefined;
  /** The drift monitor's per-minute summaries of the stored frames (with a registry). */
  readonly driftSummaries: DriftSummaries | undefined;
  /**
   * `failed` counts every analysis that threw (store failures, unreadable spool entries); `rejected` counts frames
   * stored without characteristics (their image could not be decoded); `refused` counts frames refused at a full spool;
   * `unreadable` counts spool entries that could not be read back, dropped.
   */
  readonly counters = { processed: 0, spooled: 0, replayed: 0, rejected: 0, failed: 0, refused: 0, unreadable: 0 };

  constructor(private readonly options: FrameAnalysisOptions) {
    this.images = new ImageAnalysisPool(options.analysisThreads, options.analysisNice);
    this.characteristics = new MicroBatcher(
      async (frames) => (await this.images.characteristicsOfFrames(frames)).map((c) => (c instanceof Error ? new ItemFailure(c) : c)),
      ANALYSIS_BATCH,
      options.metrics?.analysisBatch,
    );
    this.driftSummaries = options.registry
      ? new DriftSummaries({
          registry: options.registry,
          objects: options.objects,
          measurements: options.measurements,
          flushIntervalMs: options.driftSummaryFlushMs,
          log: options.log,
        })
      : undefined;
    this.records = new MicroBatcher(
      async (records) => {
        await options.measurements.write(records);
        await this.driftSummaries?.add(records);
        return records.map(() => undefined);
      },
      RECORD_BATCH,
      options.metrics?.recordBatch,
    );
    this.opened = this.open();
    this.opened.catch(() => undefined);
    this.replayTimer = setInterval(() => this.pump(), options.retryIntervalMs ?? 5000);
    this.replayTimer.unref();
    this.statsTimer = setInterval(() => void this.writeStats(), options.statsIntervalMs ?? 10_000);
    this.statsTimer.unref();
  }

  /** Resolves once the spool is open and what it held from the last run is queued; rejects when it cannot be opened. */
  async ready(): Promise<void> {
    await this.opened;
  }

  /** Resolves once the frame is durable on disk; rejects with SpoolFullError when the spool is at its bound. */
  async enqueue(frame: FrameToAnalyse): Promise<void> {
    this.appending++;
    try {
      const spool = await this.opened;
      const { image, pixels, ...meta } = frame;
      let entry: SpoolEntry<FrameMeta>;
      try {
        entry = await spool.append(meta, image);
      } catch (err) {
        if (err instanceof SpoolFullError) this.counters.refused++;
        throw err;
      }
      this.counters.spooled++;
      this.accept({ entry, image, pixels });
    } finally {
      this.appending--;
      this.notifyIfIdle();
    }
  }

  /** Whether the spool is at its bound (a frame now would be refused). */
  spoolFull(): boolean {
    return this.spool?.isFull() ?? false;
  }

  /** Counts a request refused before its frame reached the spool (in-flight budget or full spool). */
  countRefused(): void {
    this.counters.refused++;
  }

  status() {
    return {
      queued: this.queue.length,
      queueBytes: this.heldBytes,
      inFlight: this.inFlight,
      parked: this.parked.length,
      spoolBytes: this.spool?.bytes ?? 0,
      ...this.counters,
    };
  }

  /** When the oldest frame not stored yet was received (epoch ms), or undefined when none waits. */
  oldestUnstoredTime(): number | undefined {
    const waiting = [this.queue[0]?.entry, this.parked[0], ...this.analysing];
    const times = waiting.filter((e) => e !== undefined).map((e) => e.meta.time);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  /** Resolves when nothing is being appended, queued in memory or analysed (frames may still wait on disk). */
  async idle(): Promise<void> {
    if (this.isIdle()) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stores every frame of the spool, those waiting on disk after a store failure too (a failing store is tried again
   * every retry pause), until none is left or `seconds` have passed; resolves with how many are left. For a process
   * that stops for good: its spool may never be opened again.
   */
  async drain(seconds: number): Promise<number> {
    const deadline = Date.now() + seconds * 1000;
    const spool = await this.opened;
    while ((spool.pending > 0 || this.appending > 0) && Date.now() < deadline) {
      await sleep(Math.min(DRAIN_POLL_MS, deadline - Date.now()));
    }
    return spool.pending;
  }

  /** Frames in the spool whose object and record are not stored yet. */
  async spooledCount(): Promise<number> {
    await this.opened.catch(() => undefined);
    return this.spool?.pending ?? 0;
  }

  /** Processes the frames waiting on disk, oldest first; stops at the first one whose store fails again. */
  async replaySpool(): Promise<number> {
    while (this.replaying) await this.replaying;
    this.replaying = this.replayParked();
    try {
      return await this.replaying;
    } finally {
      this.replaying = undefined;
      this.notifyIfIdle();
    }
  }

  /** One sample of the pipeline's health for the system dashboard; never throws (a down store is logged). */
  async writeStats(): Promise<AnalysisStats | undefined> {
    const stats: AnalysisStats = {
      time: Date.now(),
      instance: this.options.instance ?? `${os.hostname()}:${process.pid}`,
      queueDepth: this.queue.length,
      queueBytes: this.heldBytes,
      spooled: await this.spooledCount(),
      spoolBytes: this.spool?.bytes ?? 0,
      written: this.counters.processed + this.counters.replayed,
      failed: this.counters.failed,
      refused: this.counters.refused,
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
    this.closed = true;
    clearInterval(this.replayTimer);
    clearTimeout(this.retryTimer);
    clearInterval(this.statsTimer);
    await this.driftSummaries?.close();
    await this.images.close();
    await (await this.opened.catch(() => undefined))?.close();
  }

  private async open(): Promise<FrameSpool<FrameMeta>> {
    const { spool, recovered } = await FrameSpool.open<FrameMeta>({
      dir: this.options.spoolDir,
      maxBytes: this.options.spoolMaxBytes ?? 1024 ** 3,
      segmentBytes: this.options.spoolSegmentBytes,
    });
    this.spool = spool;
    this.parked.push(...recovered);
    const imported = await this.importLegacySpool(spool);
    if (recovered.length + imported > 0)
      this.options.log.info?.({ frames: recovered.length + imported }, 'frames from the spool queued for analysis');
    this.pump();
    return spool;
  }

  /** Frames an older version left as .json + .jpg pairs move into the log. */
  private async importLegacySpool(spool: FrameSpool<FrameMeta>): Promise<number> {
    const metaFiles = (await fs.readdir(this.options.spoolDir)).filter((f) => f.endsWith('.json')).sort();
    for (const metaFile of metaFiles) {
      const metaPath = path.join(this.options.spoolDir, metaFile);
      const imagePath = metaPath.replace(/\.json$/, '.jpg');
      const meta = JSON.parse(await fs.readFile(metaPath, 'utf8')) as FrameMeta;
      this.parked.push(await spool.append(meta, await fs.readFile(imagePath)));
      await fs.rm(metaPath);
      await fs.rm(imagePath, { force: true });
    }
    return metaFiles.length;
  }

  private accept(item: Queued) {
    const bytes = heldBytesOf(item);
    const roomInMemory = this.queue.length < this.options.queueLimit && this.heldBytes + bytes <= this.queueMaxBytes;
    if (roomInMemory && this.parked.length === 0) {
      this.heldBytes += bytes;
      this.queue.push({ ...item, heldBytes: bytes });
    } else {
      this.parked.push(item.entry);
    }
    this.pump();
  }

  private get queueMaxBytes() {
    return this.options.queueMaxBytes ?? 64 * 1024 * 1024;
  }

  private isIdle() {
    return this.appending === 0 && this.queue.length === 0 && this.inFlight === 0 && !this.replaying;
  }

  private notifyIfIdle() {
    if (this.isIdle()) this.idleWaiters.splice(0).forEach((w) => w());
  }

  /** Starts analyses up to the concurrency: from memory first, then from disk unless a store failed recently. */
  private pump() {
    const limit = this.options.concurrency ?? 16;
    while (!this.closed && this.inFlight < limit) {
      let next = this.queue.shift();
      if (!next && this.parked.length > 0 && !this.replaying && Date.now() >= this.retryAfter) {
        next = { entry: this.parked.shift()! };
      }
      if (!next) break;
      this.inFlight++;
      const item = next;
      this.analysing.add(item.entry);
      void (item.image ? this.process(item, item.image) : this.processFromSpool(item)).finally(() => {
        this.inFlight--;
        this.analysing.delete(item.entry);
        this.heldBytes -= item.heldBytes ?? 0;
        this.pump();
        this.notifyIfIdle();
      });
    }
  }

  private async process(item: Queued, image: Buffer): Promise<void> {
    try {
      await this.analyse(item.entry.meta, image, item.pixels);
      await this.spool!.ack(item.entry);
      this.counters.processed++;
    } catch (err) {
      this.counters.failed++;
      if (this.closed) return;
      this.options.log.warn(
        { err: (err as Error).message, requestId: item.entry.meta.requestId },
        'store failed; frame waits in the spool',
      );
      this.park(item.entry);
    }
  }

  /** A frame waiting on disk only: read back, then processed; one whose record cannot be read never holds up the rest. */
  private async processFromSpool(item: Queued): Promise<void> {
    let image: Buffer;
    try {
      image = await this.spool!.readImage(item.entry);
    } catch (err) {
      this.counters.failed++;
      if (this.dropIfUnreadable(item.entry, err)) return;
      if (this.closed) return;
      this.options.log.warn(
        { err: (err as Error).message, requestId: item.entry.meta.requestId },
        'spool read failed; frame waits in the spool',
      );
      this.park(item.entry);
      return;
    }
    await this.process(item, image);
  }

  /** An entry whose record on disk is not what was appended cannot be stored: logged, counted and taken out of the spool. */
  private dropIfUnreadable(entry: SpoolEntry<FrameMeta>, err: unknown): boolean {
    if (!(err instanceof SpoolCorruptError)) return false;
    this.counters.unreadable++;
    this.options.log.error(
      { err: err.message, requestId: entry.meta.requestId, deployment: entry.meta.deployment },
      'spooled frame cannot be read back; dropped',
    );
    void this.spool!.ack(entry);
    return true;
  }

  private park(entry: SpoolEntry<FrameMeta>) {
    this.parked.push(entry);
    this.parked.sort((a, b) => a.segment - b.segment || a.offset - b.offset);
    this.retryAfter = Date.now() + (this.options.retryIntervalMs ?? 5000);
    this.pumpAfterPause();
  }

  private pumpAfterPause() {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        if (Date.now() < this.retryAfter) this.pumpAfterPause();
        else this.pump();
      },
      Math.max(0, this.retryAfter - Date.now()),
    );
    this.retryTimer.unref();
  }

  private async replayParked(): Promise<number> {
    const spool = await this.opened;
    let replayed = 0;
    while (!this.closed && this.parked.length > 0) {
      const entry = this.parked.shift()!;
      this.inFlight++;
      this.analysing.add(entry);
      try {
        await this.analyse(entry.meta, await spool.readImage(entry));
        await spool.ack(entry);
      } catch (err) {
        this.counters.failed++;
        if (this.dropIfUnreadable(entry, err)) continue;
        this.options.log.warn({ err: (err as Error).message, pending: this.parked.length + 1 }, 'spool replay paused: store still failing');
        this.park(entry);
        return replayed;
      } finally {
        this.inFlight--;
        this.analysing.delete(entry);
      }
      replayed++;
      this.counters.replayed++;
    }
    this.retryAfter = 0;
    queueMicrotask(() => this.pump());
    return replayed;
  }

  /** The shadow version's prediction, or null when it cannot predict (the frame is stored all the same). */
  private async shadowPrediction(frame: FrameMeta, image: Buffer | DecodedFrame): Promise<number | null> {
    const { shadow, log } = this.options;
    if (frame.shadowVersion == null || frame.modelName === null || !shadow) return null;
    try {
      const prediction = await shadow(frame.modelName, frame.shadowVersion, image);
      this.lastShadowFailure = undefined;
      return prediction;
    } catch (err) {
      const reason = `${frame.modelName} v${frame.shadowVersion}: ${(err as Error).message}`;
      // One line per distinct failure, not one per frame while it lasts.
      if (reason !== this.lastShadowFailure) log.warn({ err: reason }, 'shadow prediction failed; the frame is stored without it');
      this.lastShadowFailure = reason;
      return null;
    }
  }

  /**
   * The frame's image characteristics, or null when its image cannot be decoded. /predict decodes every frame it
   * answers as the analysis does (imageGate.ts's openFrame), so this is for frames an older version accepted: their
   * record and object are stored without characteristics, since the rover was told the frame is kept.
   */
  private async characteristicsOf(frame: FrameMeta, image: Buffer, pixels?: AnalysisPixels): Promise<ImageCharacteristics | null> {
    try {
      // Without a shadow prediction nothing reads the pixels after the analysis: they move to its thread, not copied.
      const move = frame.shadowVersion == null;
      return await this.characteristics.submit(pixels ? { pixels, move } : { jpeg: image });
    } catch (err) {
      if ((err as { code?: string }).code !== 'invalid_image') throw err;
      this.counters.rejected++;
      this.options.log.warn(
        { err: (err as Error).message, requestId: frame.requestId },
        'frame cannot be decoded for the analysis; stored without characteristics',
      );
      return null;
    }
  }

  private async analyse(frame: FrameMeta, image: Buffer, pixels?: AnalysisPixels): Promise<void> {
    const imageKey = frameImageKey(frame.deployment, frame.requestId);
    const [characteristics, shadowPrediction] = await Promise.all([
      this.characteristicsOf(frame, image, pixels),
      this.shadowPrediction(frame, pixels?.ownSize ? { jpeg: image, rgb: pixels } : image),
    ]);
    await this.options.objects.put(imageKey, image, 'image/jpeg');
    // An error code or an impossible distance is no ground truth: kept as sent and marked, it makes no error.
    const status = readingStatus(frame.sensorValue);
    const invalid = status === 'error-code' || status === 'out-of-range';
    const errorOf = (prediction: number | null) =>
      prediction !== null && frame.sensorValue !== null && !invalid ? Math.abs(prediction - frame.sensorValue) : null;
    const record: InferenceRecord = {
      time: frame.time,
      deployment: frame.deployment,
      client: frame.client,
      modelName: frame.modelName,
      modelVersion: frame.modelVersion,
      prediction: frame.prediction,
      sensorValue: frame.sensorValue,
      error: errorOf(frame.prediction),
      latencyMs: frame.latencyMs,
      imageKey,
      characteristics,
      shadow:
        frame.shadowVersion == null
          ? null
          : { modelVersion: frame.shadowVersion, prediction: shadowPrediction, error: errorOf(shadowPrediction) },
      ...(invalid ? { sensorStatus: status } : {}),
    };
    const written = this.records.submit(record);
    // Every frame in analysis waits for this write: no other record can join it.
    if (this.records.waitingItems >= this.inFlight) this.records.flush();
    await written;
  }
}
