import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FrameSpool, SpoolFullError } from '../../ingest/frameSpool.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';

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

  it('writes acks that come together in one write, each resolving once its line is on disk', async () => {
    const { spool } = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 });
    const entries = await Promise.all(Array.from({ length: 30 }, (_, n) => spool.append({ n }, image(n))));
    await Promise.all(entries.slice(0, 20).map((entry) => spool.ack(entry)));
    expect(spool.ackWrites).toBeLessThan(20);
    const [acks] = fs.readdirSync(dir).filter((f) => f.endsWith('.acks'));
    expect(fs.readFileSync(path.join(dir, acks), 'utf8').trim().split('\n')).toEqual(entries.slice(0, 20).map((e) => String(e.offset)));
    await spool.ack(entries[20]);
    await spool.close();

    const reopened = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 });
    expect(reopened.recovered.map((e) => e.meta.n)).toEqual(Array.from({ length: 9 }, (_, i) => i + 21));
    await reopened.spool.close();
  });

  it('deletes segments once every frame in them is acknowledged and none will be added: full ones at once, the last when it closes', async () => {
    const { spool } = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000, segmentBytes: 3000 });
    const entries = [];
    for (let n = 0; n < 10; n++) entries.push(await spool.append({ n }, image(n)));
    const segments = () => fs.readdirSync(dir).filter((f) => f.endsWith('.frames'));
    expect(segments().length).toBeGreaterThan(2);
    for (const entry of entries) await spool.ack(entry);
    expect(spool.pending).toBe(0);
    expect(segments()).toEqual([`${String(entries[9].segment).padStart(12, '0')}.frames`]);
    expect(spool.bytes).toBe(fs.statSync(path.join(dir, segments()[0])).size);
    await spool.close();
    expect(fs.readdirSync(dir)).toEqual([]);
    expect((await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 })).recovered).toEqual([]);
  });

  it('keeps appending to the segment it writes when every frame in it is acknowledged (no file, fsync and deletion per batch)', async () => {
    const { spool } = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 });
    const first = await spool.append({ n: 0 }, image(0));
    await spool.ack(first);
    const second = await spool.append({ n: 1 }, image(1));
    await spool.ack(second);
    const third = await spool.append({ n: 2 }, image(2));
    expect([second.segment, third.segment]).toEqual([first.segment, first.segment]);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.frames'))).toHaveLength(1);
    await spool.close();
    const reopened = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 });
    expect(reopened.recovered.map((e) => e.meta.n)).toEqual([2]);
    await reopened.spool.close();
  });

  it('makes room within its size bound by deleting the acknowledged segment it was writing', async () => {
    const { spool } = await FrameSpool.open<Meta>({ dir, maxBytes: 5000 });
    const onDisk = () => fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    for (let n = 0; n < 6; n++) {
      await spool.ack(await spool.append({ n }, image(n, 2000)));
      expect(onDisk()).toBeLessThanOrEqual(5000);
    }
    await spool.append({ n: 6 }, image(6, 2000));
    await spool.append({ n: 7 }, image(7, 2000));
    await expect(spool.append({ n: 8 }, image(8, 2000))).rejects.toBeInstanceOf(SpoolFullError);
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

  it('cuts a torn record off the end of a segment when it opens', async () => {
    const { spool } = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 });
    for (let n = 0; n < 3; n++) await spool.append({ n }, image(n));
    await spool.close();
    const [segment] = fs.readdirSync(dir).filter((f) => f.endsWith('.frames'));
    const file = path.join(dir, segment);
    const whole = fs.readFileSync(file);
    fs.appendFileSync(file, whole.subarray(0, 500));

    const reopened = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 });
    expect(fs.statSync(file).size).toBe(whole.length);
    expect(reopened.spool.bytes).toBe(whole.length);
    expect(reopened.recovered.map((e) => e.meta.n)).toEqual([0, 1, 2]);
    await reopened.spool.close();
  });

  it('ignores and cuts off an ack line written in part, so the next one cannot run into it', async () => {
    const { spool } = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 });
    const entries = [];
    for (let n = 0; n < 3; n++) entries.push(await spool.append({ n }, image(n)));
    await spool.ack(entries[0]);
    await spool.close();
    const acks = path.join(
      dir,
      fs.readdirSync(dir).find((f) => f.endsWith('.acks'))!,
    );
    // The first digits of the second entry's offset made it to disk, the rest of the line did not.
    fs.appendFileSync(acks, String(entries[1].offset).slice(0, 2));

    const reopened = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 });
    expect(reopened.recovered.map((e) => e.meta.n)).toEqual([1, 2]);
    expect(fs.readFileSync(acks, 'utf8')).toBe(`${entries[0].offset}\n`);
    await reopened.spool.ack(reopened.recovered[1]);
    await reopened.spool.close();
    expect((await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 })).recovered.map((e) => e.meta.n)).toEqual([1]);
  });
});

describe('frame spool on a full filesystem', () => {
  let disk: Tmpfs;
  let dir: string;
  beforeEach(() => {
    disk = mountTmpfs(256 * 1024, 'mlops-spool-full-');
    dir = path.join(disk.dir, 'spool');
  });
  afterEach(() => disk.unmount());

  it('refuses an append that reaches the disk only in part, cuts it off, and appends again once space is back', async () => {
    const { spool } = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 });
    const first = await spool.append({ n: 1 }, image(1, 1000));
    const [segment] = fs.readdirSync(dir).filter((f) => f.endsWith('.frames'));
    const file = path.join(dir, segment);
    const firstBytes = fs.statSync(file).size;
    // The disk fills up: the next record fits only into what is left of the segment's last page.
    const filler = path.join(disk.dir, 'filler');
    disk.fill(filler);
    await expect(spool.append({ n: 2 }, image(2, 6000))).rejects.toThrow(/ENOSPC.* after \d+ of 6023 bytes/);
    expect(fs.statSync(file).size).toBe(firstBytes);
    expect(spool.pending).toBe(1);
    await expect(spool.append({ n: 3 }, image(3, 6000))).rejects.toThrow();

    fs.rmSync(filler);
    const fourth = await spool.append({ n: 4 }, image(4, 6000));
    expect(await spool.readImage(first)).toEqual(image(1, 1000));
    expect(await spool.readImage(fourth)).toEqual(image(4, 6000));
    expect(spool.pending).toBe(2);
    await spool.close();

    const reopened = await FrameSpool.open<Meta>({ dir, maxBytes: 10_000_000 });
    expect(reopened.recovered.map((e) => e.meta.n)).toEqual([1, 4]);
    expect(await reopened.spool.readImage(reopened.recovered[1])).toEqual(image(4, 6000));
    await reopened.spool.close();
  });
});
