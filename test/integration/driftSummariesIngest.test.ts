import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeImageCharacteristics } from '../../core/features/imageCharacteristics.js';
import { referenceProfileOf } from '../../core/drift/referenceProfile.js';
import { summaryWindow } from '../../core/drift/summaryWindow.js';
import type { MeasurementStore } from '../../core/stores/measurements.js';
import { FrameAnalysis, type FrameToAnalyse } from '../../ingest/frameAnalysis.js';
import { attachReferenceProfile, registerUntrainedVersion } from '../support/apiHarness.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';
import { syntheticFrame } from '../support/syntheticFrames.js';

const silent = { warn() {}, error() {} };

/** The API's analysis counts the frames it stores into the drift summaries, and writes them however the store behaves. */
describe('drift summaries at ingest', () => {
  let temp: TempStores;
  let analysis: FrameAnalysis;
  let outage = false;
  let n = 0;
  const now = Date.now();
  const frame = (image: Buffer, modelVersion: number | null = 1): FrameToAnalyse => ({
    requestId: `req-${++n}`,
    time: now - 1000 + n,
    deployment: 'beige',
    client: `rover-${n % 2}`,
    modelName: 'distance',
    modelVersion,
    prediction: 100,
    sensorValue: 120,
    latencyMs: 3,
    image,
  });
  const window = () =>
    summaryWindow(temp.stores.measurements, profile, {
      deployment: 'beige',
      modelName: 'distance',
      modelVersion: 1,
      since: now - 60_000,
      maxFrames: 1000,
    });
  let profile: ReturnType<typeof referenceProfileOf>;
  let jpeg: Buffer;

  beforeAll(async () => {
    temp = await openTempStores();
    jpeg = await syntheticFrame(120, 160, 120);
    await registerUntrainedVersion(temp.stores, 'distance', 'run-1');
    const characteristics = await computeImageCharacteristics(jpeg);
    profile = referenceProfileOf({
      modelName: 'distance',
      version: 1,
      source: { manifestKey: 'm', workflowId: 'test', runId: 'run-1' },
      rows: Array.from({ length: 50 }, (_, i) => ({ sensorValue: 100 + i, characteristics })),
      labelMaxMm: 350,
      testErrorsMm: [1, 2, 3, 4, 5],
    });
    await attachReferenceProfile(temp.stores, profile);
    const measurements = Object.assign(Object.create(temp.stores.measurements), {
      writeDriftSummaries: (rows: Parameters<MeasurementStore['writeDriftSummaries']>[0]) =>
        outage
          ? Promise.reject(new Error('measurement store unavailable (simulated outage)'))
          : temp.stores.measurements.writeDriftSummaries(rows),
    }) as MeasurementStore;
    analysis = new FrameAnalysis({
      objects: temp.stores.objects,
      measurements,
      registry: temp.stores.registry,
      driftSummaryFlushMs: 3_600_000,
      spoolDir: path.join(temp.dir, 'spool'),
      queueLimit: 10,
      retryIntervalMs: 3_600_000,
      statsIntervalMs: 3_600_000,
      analysisThreads: 1,
      log: silent,
    });
  });
  afterAll(async () => {
    await analysis?.close();
    await temp?.cleanup();
  });

  it('counts every stored frame of a version with a profile into its minute, written at the flush', async () => {
    for (let i = 0; i < 12; i++) await analysis.enqueue(frame(jpeg));
    // A version without a profile, and no version at all: nothing to count against.
    await analysis.enqueue(frame(jpeg, 7));
    await analysis.enqueue(frame(jpeg, null));
    await analysis.idle();
    expect((await window()).frames).toBe(0);
    await analysis.driftSummaries!.flush();
    const counted = await window();
    expect(counted).toMatchObject({ frames: 12, windowEnd: now - 1000 + 12 });
    expect(counted.labels.n).toBe(12);
    expect(counted.errors).toMatchObject({ n: 12, sum: 240 });
    const raw = await temp.stores.measurements.driftWindow({
      deployment: 'beige',
      modelName: 'distance',
      modelVersion: 1,
      since: now - 60_000,
      maxFrames: 1000,
    });
    expect(raw.frames).toBe(12);
  });

  it('keeps the counts through a store outage and writes them once it is back, each frame once', async () => {
    outage = true;
    for (let i = 0; i < 5; i++) await analysis.enqueue(frame(jpeg));
    await analysis.idle();
    await analysis.driftSummaries!.flush();
    expect((await window()).frames).toBe(12);
    outage = false;
    await analysis.driftSummaries!.flush();
    await analysis.driftSummaries!.flush();
    expect((await window()).frames).toBe(17);
  });

  it('writes what it counted since the last flush when it closes', async () => {
    await analysis.enqueue(frame(jpeg));
    await analysis.idle();
    await analysis.close();
    expect((await window()).frames).toBe(18);
  });
});
