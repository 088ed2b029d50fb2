import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Outbox, type ForwardOutcome, type OutboxItem } from '../../edge/agent/outbox.js';
import { eventually } from '../support/eventually.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'outbox-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const frame = (key: string, bytes = 1000) => ({ key, jpeg: Buffer.alloc(bytes, key.length), capturedAt: 1_700_000_000_000, sensorMm: 120 });
const report = (runId: string) => ({
  runId,
  mode: 'laser' as const,
  startedAt: '2026-12-06T08:00:00.000Z',
  endedAt: '2026-12-06T08:00:10.000Z',
  frames: 3,
  steered: { model: 0, laser: 3, stopped: 0 },
  outcome: 'parked' as const,
  finalLaserMm: 15,
  modelVersion: null,
  stopReason: 'laser' as const,
});
const keyOf = (item: OutboxItem) => (item.kind === 'frame' ? item.frame.key : item.report.runId);

/** A sender that takes what it is given while `up`, and records every try. */
function api() {
  const state = { up: false, tried: [] as string[], taken: [] as string[] };
  const send = async (item: OutboxItem): Promise<ForwardOutcome> => {
    state.tried.push(keyOf(item));
    if (!state.up) return 'retry';
    state.taken.push(keyOf(item));
    return 'taken';
  };
  return { state, send };
}

describe('outbox (store and forward on disk)', () => {
  it('keeps frames within its byte bound, dropping the oldest first and counting them', async () => {
    const { send } = api();
    const outbox = await Outbox.open({ dir, maxBytes: 5000, send });
    for (let i = 0; i < 8; i++) await outbox.addFrame(frame(`frame-${i}`));
    const stats = outbox.stats();
    expect(stats.bytes).toBeLessThanOrEqual(5000);
    expect(stats.frames).toBeGreaterThanOrEqual(3);
    expect(stats.dropped).toBe(8 - stats.frames);
    const reopened = await Outbox.open({ dir, maxBytes: 5000, send });
    expect(reopened.stats()).toMatchObject({ frames: stats.frames, bytes: stats.bytes });
  });

  it('drops frames before run reports', async () => {
    const { state, send } = api();
    const outbox = await Outbox.open({ dir, maxBytes: 3000, send });
    await outbox.addRun(report('run-0000-aaaa'));
    for (let i = 0; i < 5; i++) await outbox.addFrame(frame(`frame-${i}`));
    expect(outbox.stats()).toMatchObject({ runs: 1 });
    state.up = true;
    outbox.start();
    await eventually(() => expect(outbox.stats()).toMatchObject({ frames: 0, runs: 0 }));
    await outbox.stop();
    expect(state.taken[0]).toBe('run-0000-aaaa');
    expect(state.taken.slice(1)).toEqual(['frame-3', 'frame-4']);
  });

  it('forwards oldest first, one at a time, once the API is back, and survives a restart', async () => {
    const first = api();
    const outbox = await Outbox.open({ dir, maxBytes: 1_000_000, send: first.send, retryMs: 20, maxRetryMs: 50 });
    outbox.start();
    for (let i = 0; i < 5; i++) await outbox.addFrame(frame(`frame-${i}`));
    await outbox.addRun(report('run-0001-bbbb'));
    await eventually(() => expect(first.state.tried.length).toBeGreaterThan(2));
    expect(new Set(first.state.tried)).toEqual(new Set(['frame-0']));
    await outbox.stop();

    // A half-written item (a crash between its JPEG and its meta) is cleaned up, not sent.
    await writeFile(path.join(dir, 'item-999999999999.jpg'), Buffer.alloc(10));
    await writeFile(path.join(dir, 'item-999999999998.json.tmp'), '{');

    const second = api();
    second.state.up = true;
    let inFlight = 0;
    let maxInFlight = 0;
    const reopened = await Outbox.open({
      dir,
      maxBytes: 1_000_000,
      send: async (item) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
        return second.send(item);
      },
    });
    expect(reopened.stats()).toMatchObject({ frames: 5, runs: 1 });
    reopened.start();
    await eventually(() => expect(second.state.taken).toHaveLength(6));
    await reopened.stop();
    expect(second.state.taken).toEqual(['frame-0', 'frame-1', 'frame-2', 'frame-3', 'frame-4', 'run-0001-bbbb']);
    expect(maxInFlight).toBe(1);
    expect(reopened.stats()).toMatchObject({ frames: 0, runs: 0, bytes: 0, forwarded: 6 });
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps the frame as stored: key, bytes, capture time and sensor value', async () => {
    const { state, send } = api();
    const seen: OutboxItem[] = [];
    const outbox = await Outbox.open({ dir, maxBytes: 1_000_000, send: async (item) => (seen.push(item), send(item)) });
    await outbox.addFrame({ key: 'run-1:7', jpeg: Buffer.from([0xff, 0xd8, 1, 2, 0xff, 0xd9]), capturedAt: 1_234, sensorMm: 8190 });
    state.up = true;
    outbox.start();
    await eventually(() => expect(seen).toHaveLength(1));
    await outbox.stop();
    expect(seen[0]).toEqual({
      kind: 'frame',
      frame: { key: 'run-1:7', jpeg: Buffer.from([0xff, 0xd8, 1, 2, 0xff, 0xd9]), capturedAt: 1_234, sensorMm: 8190 },
    });
  });

  it('drops an item the API refuses for good instead of sending it forever', async () => {
    const tried: string[] = [];
    const outbox = await Outbox.open({ dir, maxBytes: 1_000_000, send: async (item) => (tried.push(keyOf(item)), 'refused') });
    await outbox.addFrame(frame('frame-0'));
    outbox.start();
    await eventually(() => expect(outbox.stats()).toMatchObject({ frames: 0, refused: 1 }));
    await outbox.stop();
    expect(tried).toEqual(['frame-0']);
  });
});
