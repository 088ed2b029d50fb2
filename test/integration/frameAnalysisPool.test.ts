import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FrameAnalysis, type FrameToAnalyse } from '../../ingest/frameAnalysis.js';
import { computeImageCharacteristics, decodeForAnalysis, DEFAULT_ANALYSIS_WIDTH } from '../../core/features/imageCharacteristics.js';
import { FolderObjects } from '../../core/stores/folderObjects.js';
import type { AnalysisStats, InferenceRecord, MeasurementStore } from '../../core/stores/measurements.js';
import type { ImageCharacteristics } from '../../core/features/fields.js';
import { syntheticFrame } from '../support/syntheticFrames.js';

/** Keeps what the analysis writes; `down` makes every write fail like a store outage. */
class RecordingMeasurements {
  down = false;
  records: InferenceRecord[] = [];
  stats: AnalysisStats[] = [];
  async write(records: InferenceRecord[]) {
    if (this.down) throw new Error('measurement store unavailable (simulated outage)');
    this.records.push(...records);
  }
  async writeAnalysisStats(stats: AnalysisStats) {
    if (this.down) throw new Error('measurement store unavailable (simulated outage)');
    this.stats.push(stats);
  }
}

const silent = { warn() {}, error() {} };

describe('frame analysis on worker threads', () => {
  let dir: string;
  let measurements: RecordingMeasurements;
  let analysis: FrameAnalysis;
  let jpeg: Buffer;
  let n = 0;
  /** Sizes of the analysis threads' tasks, as the API's metrics are told them. */
  const analysisTasks: number[] = [];
  const frame = (image: Buffer): FrameToAnalyse => ({
    requestId: `req-${++n}`,
    time: Date.now(),
    deployment: 'beige',
    client: 'rover-1',
    modelName: 'distance',
    modelVersion: 1,
    prediction: 100,
    sensorValue: 120,
    latencyMs: 3,
    image,
  });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-analysis-'));
    measurements = new RecordingMeasurements();
    analysis = new FrameAnalysis({
      objects: new FolderObjects(path.join(dir, 'objects')),
      measurements: measurements as unknown as MeasurementStore,
      spoolDir: path.join(dir, 'spool'),
      queueLimit: 10,
      retryIntervalMs: 3_600_000,
      statsIntervalMs: 3_600_000,
      instance: 'api-test',
      analysisThreads: 1,
      log: silent,
      metrics: { analysisBatch: (frames) => analysisTasks.push(frames), recordBatch() {} },
    });
    jpeg = await syntheticFrame(120, 160, 120);
  });

  afterAll(async () => {
    await analysis?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('records the same characteristics the function computes on the event loop', async () => {
    await analysis.enqueue(frame(jpeg));
    await analysis.idle();
    expect(measurements.records).toHaveLength(1);
    expect(measurements.records[0].characteristics).toEqual(await computeImageCharacteristics(jpeg));
    expect(measurements.records[0].error).toBe(20);
  });

  it('counts written and failed analyses, the spool and the queue in its stats', async () => {
    // An image the analysis cannot decode is stored without characteristics: written, not failed.
    await analysis.enqueue(frame(Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01])));
    await analysis.idle();
    expect(measurements.records.at(-1)!.characteristics).toBeNull();
    measurements.down = true;
    await analysis.enqueue(frame(jpeg));
    await analysis.idle();
    expect(await analysis.writeStats()).toBeUndefined();
    measurements.down = false;

    const stats = await analysis.writeStats();
    expect(stats).toMatchObject({ instance: 'api-test', queueDepth: 0, spooled: 1, written: 2, failed: 1 });
    expect(measurements.stats).toEqual([stats]);

    expect(await analysis.replaySpool()).toBe(1);
    expect(await analysis.writeStats()).toMatchObject({ spooled: 0, written: 3, failed: 1 });
  });

  it('moves frames an older version spooled as .json + .jpg pairs into the log and stores them', async () => {
    const legacyDir = path.join(dir, 'spool-legacy');
    fs.mkdirSync(legacyDir);
    const { image, ...meta } = frame(jpeg);
    fs.writeFileSync(path.join(legacyDir, `000000000000001-${meta.requestId}.jpg`), image);
    fs.writeFileSync(path.join(legacyDir, `000000000000001-${meta.requestId}.json`), JSON.stringify(meta));
    const upgraded = new FrameAnalysis({
      objects: new FolderObjects(path.join(dir, 'objects')),
      measurements: measurements as unknown as MeasurementStore,
      spoolDir: legacyDir,
      queueLimit: 10,
      analysisThreads: 1,
      log: silent,
    });
    try {
      await upgraded.ready();
      await vi.waitFor(() => expect(measurements.records.some((r) => r.imageKey.endsWith(`${meta.requestId}.jpg`))).toBe(true), {
        timeout: 10_000,
      });
      await upgraded.idle();
      expect(await upgraded.spooledCount()).toBe(0);
      expect(fs.readdirSync(legacyDir).filter((f) => !f.endsWith('.frames') && !f.endsWith('.acks'))).toEqual([]);
    } finally {
      await upgraded.close();
    }
    expect(fs.readdirSync(legacyDir)).toEqual([]);
  });

  it('writes its stats on its own at the configured interval', async () => {
    const ticking = new FrameAnalysis({
      objects: new FolderObjects(path.join(dir, 'objects')),
      measurements: measurements as unknown as MeasurementStore,
      spoolDir: path.join(dir, 'spool-ticking'),
      queueLimit: 10,
      statsIntervalMs: 50,
      instance: 'api-ticking',
      analysisThreads: 1,
      log: silent,
    });
    try {
      await vi.waitFor(() => expect(measurements.stats.filter((s) => s.instance === 'api-ticking').length).toBeGreaterThanOrEqual(2), {
        timeout: 10_000,
      });
    } finally {
      await ticking.close();
    }
  });

  it("analyses the pixels /predict decoded for it without decoding the JPEG again, a wider frame's downscaled ones too", async () => {
    const other = await syntheticFrame(30, 160, 120);
    await analysis.enqueue({ ...frame(jpeg), pixels: await decodeForAnalysis(other, DEFAULT_ANALYSIS_WIDTH) });
    await analysis.idle();
    expect(measurements.records.at(-1)!.characteristics).toEqual(await computeImageCharacteristics(other));

    const wide = await syntheticFrame(200, 320, 240);
    await analysis.enqueue({ ...frame(jpeg), pixels: await decodeForAnalysis(wide, DEFAULT_ANALYSIS_WIDTH) });
    await analysis.idle();
    expect(measurements.records.at(-1)!.characteristics).toEqual(await computeImageCharacteristics(wide));
  });

  it('moves the pixels of a frame no shadow reads to the analysis thread instead of copying them', async () => {
    const other = await syntheticFrame(60, 160, 120);
    const decoded = await decodeForAnalysis(other, DEFAULT_ANALYSIS_WIDTH);
    // As the inference thread hands them over: the whole of an ArrayBuffer of their own.
    const own = () => ({ ...decoded, data: new Uint8Array(decoded.data) });
    const moved = own();
    const kept = own();
    await analysis.enqueue({ ...frame(jpeg), pixels: moved });
    await analysis.enqueue({ ...frame(jpeg), pixels: kept, shadowVersion: 2 });
    await analysis.idle();
    expect(moved.data.byteLength).toBe(0);
    expect(kept.data.byteLength).toBe(decoded.data.length);
    const expected = await computeImageCharacteristics(other);
    expect(measurements.records.slice(-2).map((r) => r.characteristics)).toEqual([expected, expected]);
    expect(await analysis.writeStats()).toMatchObject({ queueDepth: 0, queueBytes: 0 });
  });

  it('writes the records of frames analysed together in one write', async () => {
    const writes = vi.spyOn(measurements, 'write');
    try {
      await Promise.all(Array.from({ length: 8 }, () => analysis.enqueue(frame(jpeg))));
      await analysis.idle();
      expect(writes.mock.calls.flatMap(([records]) => records)).toHaveLength(8);
      expect(writes.mock.calls.length).toBeLessThan(8);
    } finally {
      writes.mockRestore();
    }
  });

  it('analyses the frames accepted together in one task of its thread, each with its own characteristics', async () => {
    const shades = [30, 90, 150, 210];
    const images = await Promise.all(shades.map((shade) => syntheticFrame(shade, 160, 120)));
    analysisTasks.length = 0;
    const from = measurements.records.length;
    await Promise.all(images.map((image) => analysis.enqueue(frame(image))));
    await analysis.idle();
    expect(analysisTasks.reduce((a, b) => a + b, 0)).toBe(4);
    expect(analysisTasks.length).toBeLessThan(4);
    const byBrightness = (a: ImageCharacteristics | null, b: ImageCharacteristics | null) => a!.brightness_mean - b!.brightness_mean;
    const stored = measurements.records.slice(from).map((r) => r.characteristics);
    const expected = await Promise.all(images.map((image) => computeImageCharacteristics(image)));
    expect(stored.sort(byBrightness)).toEqual(expected.sort(byBrightness));
  });

  describe('a spooled frame whose record on disk is damaged', () => {
    /** Frames parked in the spool (one segment each) while the measurement store is down; then the oldest record is cut short on disk. */
    async function parkedWithDamagedOldest(name: string, retryIntervalMs: number) {
      const down = new RecordingMeasurements();
      const errors: unknown[] = [];
      const parked = new FrameAnalysis({
        objects: new FolderObjects(path.join(dir, 'objects')),
        measurements: down as unknown as MeasurementStore,
        spoolDir: path.join(dir, name),
        spoolSegmentBytes: 1,
        queueLimit: 10,
        retryIntervalMs,
        statsIntervalMs: 3_600_000,
        analysisThreads: 1,
        log: { warn() {}, error: (obj: unknown) => errors.push(obj) },
      });
      down.down = true;
      const frames = Array.from({ length: 5 }, () => frame(jpeg));
      for (const f of frames) await parked.enqueue(f);
      await parked.idle();
      expect(await parked.spooledCount()).toBe(5);
      const [oldest] = fs
        .readdirSync(path.join(dir, name))
        .filter((f) => f.endsWith('.frames'))
        .sort();
      const file = path.join(dir, name, oldest);
      fs.truncateSync(file, fs.statSync(file).size - 100);
      down.down = false;
      return { parked, down, errors, frames };
    }

    it('is logged, counted and dropped by a replay, which stores the frames behind it', async () => {
      const { parked, down, errors, frames } = await parkedWithDamagedOldest('spool-damaged-replay', 3_600_000);
      try {
        expect(await parked.replaySpool()).toBe(4);
        expect(down.records.map((r) => r.imageKey)).toEqual(frames.slice(1).map((f) => `features/beige/${f.requestId}.jpg`));
        expect(parked.status().unreadable).toBe(1);
        expect(errors).toEqual([expect.objectContaining({ requestId: frames[0].requestId })]);
        expect(await parked.spooledCount()).toBe(0);
      } finally {
        await parked.close();
      }
    });

    it('never holds up the frames behind it once the store is back', async () => {
      const { parked, down, frames } = await parkedWithDamagedOldest('spool-damaged-pump', 200);
      try {
        await vi.waitFor(() => expect(down.records).toHaveLength(4), { timeout: 30_000, interval: 100 });
        await vi.waitFor(async () => expect(await parked.spooledCount()).toBe(0), { timeout: 30_000, interval: 100 });
        expect(parked.status().unreadable).toBe(1);
        expect(new Set(down.records.map((r) => r.imageKey))).toEqual(
          new Set(frames.slice(1).map((f) => `features/beige/${f.requestId}.jpg`)),
        );
      } finally {
        await parked.close();
      }
    });
  });
});
