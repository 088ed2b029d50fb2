import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FrameSpool, SpoolFullError } from '../../api/frameSpool.js';

interface Meta {
  n: number;
}

const image = (n: number, bytes = 1000) => Buffer.alloc(bytes, n % 256);

describe('frame spool (write-ahead log)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-spool-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('group-commits concurrent appends and gives every unacknowledged frame back on reopen, oldest first', async () => {
    const { spool } = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 });
    const entries = await Promise.all(Array.from({ length: 50 }, (_, n) => spool.append({ n }, image(n))));
    expect(spool.syncs).toBeLessThan(50);
    expect(spool.pending).toBe(50);
    for (const entry of entries.slice(0, 20)) await spool.ack(entry);
    expect(await spool.readImage(entries[30])).toEqual(image(30));
    await spool.close();

    const reopened = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 });
    expect(reopened.recovered.map((e) => e.meta.n)).toEqual(Array.from({ length: 30 }, (_, i) => i + 20));
    expect(await reopened.spool.readImage(reopened.recovered[0])).toEqual(image(20));
    await reopened.spool.close();
  });

  it('ignores a torn record at the end of a segment (a crash during the write, never acknowledged)', async () => {
    const { spool } = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 });
    for (let n = 0; n < 3; n++) await spool.append({ n }, image(n));
    await spool.close();
    const [segment] = fs.readdirSync(dir).filter((f) => f.endsWith('.frames'));
    const whole = fs.readFileSync(path.join(dir, segment));
    fs.appendFileSync(path.join(dir, segment), whole.subarray(0, 500));

    const reopened = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 });
    expect(reopened.recovered.map((e) => e.meta.n)).toEqual([0, 1, 2]);
    // New frames go to a new segment, never after the torn record.
    await reopened.spool.append({ n: 3 }, image(3));
    await reopened.spool.close();
    expect((await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 })).recovered.map((e) => e.meta.n)).toEqual([0, 1, 2, 3]);
  });

  it('deletes segments once every frame in them is acknowledged', async () => {
    const { spool } = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000, segmentBytes: 3000 });
    const entries = [];
    for (let n = 0; n < 10; n++) entries.push(await spool.append({ n }, image(n)));
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.frames')).length).toBeGreaterThan(2);
    for (const entry of entries) await spool.ack(entry);
    expect(spool.bytes).toBe(0);
    expect(spool.pending).toBe(0);
    expect(fs.readdirSync(dir)).toEqual([]);
    await spool.close();
  });

  it('refuses appends beyond its size bound', async () => {
    const { spool } = await FrameSpool.open<Meta>({ dir, maxBytes: 5000 });
    await spool.append({ n: 1 }, image(1, 2000));
    await spool.append({ n: 2 }, image(2, 2000));
    await expect(spool.append({ n: 3 }, image(3, 2000))).rejects.toBeInstanceOf(SpoolFullError);
    expect(spool.isFull(2000)).toBe(true);
    await spool.close();
  });
});
