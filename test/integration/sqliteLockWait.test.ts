import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';
import type { InferenceRecord } from '../../core/stores/measurements.js';
import { SqlMeasurements } from '../../core/stores/sql/sqlMeasurements.js';
import { SqlRegistry } from '../../core/stores/sql/sqlRegistry.js';
import { holdSqliteLock } from '../support/sqliteLockHolder.js';

const zeros = Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f) => [f, 0])) as ImageCharacteristics;
const record = (time: number): InferenceRecord => ({
  time,
  deployment: 'locked',
  client: 'c',
  modelName: 'm',
  modelVersion: 1,
  prediction: 10,
  sensorValue: 12,
  error: 2,
  latencyMs: 3,
  imageKey: `features/locked/${time}.jpg`,
  characteristics: zeros,
});

/** The longest pause of the event loop while `work` runs: a 10 ms timer notes how late it fires. */
async function longestStallWhile<T>(work: () => Promise<T>): Promise<{ stallMs: number; ticks: number; outcome: PromiseSettledResult<T> }> {
  let last = performance.now();
  let stallMs = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
    ticks++;
  }, 10);
  const [outcome] = await Promise.allSettled([work()]);
  clearInterval(timer);
  stallMs = Math.max(stallMs, performance.now() - last);
  return { stallMs: Math.round(stallMs), ticks, outcome };
}

/**
 * Another process holds the write lock of an embedded store's file: the store's queries wait for it without
 * stopping the event loop (better-sqlite3 runs on the main thread, so SQLite's own busy wait would).
 */
describe('a SQLite store waiting for another process lock keeps the event loop turning', () => {
  let dir: string;
  let measurements: SqlMeasurements;
  let registry: SqlRegistry;
  const measurementsFile = () => path.join(dir, 'measurements.db');
  const registryFile = () => path.join(dir, 'registry.db');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-sqlite-lock-'));
    measurements = await SqlMeasurements.open(`sqlite:${measurementsFile()}`);
    registry = await SqlRegistry.open(`sqlite:${registryFile()}`);
  });

  afterAll(async () => {
    await measurements?.close();
    await registry?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes a record once the lock is gone, the loop turning meanwhile', async () => {
    const lock = holdSqliteLock(measurementsFile(), 3000);
    await lock.locked;
    const { stallMs, ticks, outcome } = await longestStallWhile(() => measurements.write([record(1_700_000_000_000)]));
    await lock.released;
    console.log(`measurements write behind a 3 s lock: longest event-loop stall ${stallMs} ms, ${ticks} ticks`);
    expect(outcome.status).toBe('fulfilled');
    expect((await measurements.deploymentStats('locked')).count).toBe(1);
    expect(stallMs).toBeLessThan(1500);
  });

  it.each(['rollback', 'commit'] as const)('runs a registry transaction once the lock is gone (the holder ends with %s)', async (end) => {
    const lock = holdSqliteLock(registryFile(), 3000, end);
    await lock.locked;
    const id = `d-${end}`;
    const { stallMs, outcome } = await longestStallWhile(() =>
      // A canary deployment reads the model's newest version first: after a commit by the holder, its snapshot is stale.
      registry.createDeployment({ id, modelName: 'm', modelVersion: 'latest', strategy: 'canary' }),
    );
    await lock.released;
    console.log(`registry transaction behind a 3 s lock ending with ${end}: longest event-loop stall ${stallMs} ms`);
    expect(outcome.status).toBe('fulfilled');
    expect((await registry.servingHistory(id)).map((c) => c.reason)).toEqual(['created']);
    expect(stallMs).toBeLessThan(1500);
  });

  it('gives up with SQLITE_BUSY at its deadline while the lock is still held, the loop turning meanwhile', async () => {
    const lock = holdSqliteLock(measurementsFile(), 9000);
    try {
      await lock.locked;
      const started = performance.now();
      const { stallMs, outcome } = await longestStallWhile(() => measurements.write([record(1_700_000_001_000)]));
      const waitedMs = Math.round(performance.now() - started);
      console.log(`measurements write behind a 9 s lock: gave up after ${waitedMs} ms, longest event-loop stall ${stallMs} ms`);
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason.code).toMatch(/^SQLITE_BUSY/);
      expect(waitedMs).toBeGreaterThanOrEqual(4000);
      expect(stallMs).toBeLessThan(1500);
    } finally {
      lock.kill();
    }
  });
});
