import fs from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * A write-ahead log of frames on local disk. `append` resolves only once the frame is on disk
 * (fdatasync); appends that arrive while a sync runs are written and synced together (group
 * commit), so concurrent requests share one fsync. The log is split into segment files; an
 * acknowledged entry is noted in the segment's `.acks` file (not synced: after a crash an
 * entry may be processed twice, which the stores absorb since a frame's keys are its own), and
 * a segment is deleted once all its entries are acknowledged and no more will be added to it: when
 * it is full, when the spool closes, or when its bytes are needed within `maxBytes`. Frames are
 * stored as fast as they come, so the segment being written is often all acknowledged; deleting
 * it then made a file, a directory fsync and two deletions every few frames (about 40 segments a
 * second at 128 frames/s: bench/README, issue 26's eighth stop).
 *
 * Record layout: magic "FRM1", meta length, image length, CRC-32 of meta and image (u32 BE
 * each), then the meta JSON and the image. A torn or corrupt record ends a segment's replay:
 * it was never acknowledged, because `append` had not resolved.
 *
 * On a full disk a write may land in part: an append resolves only once all its bytes were
 * written and synced; otherwise it rejects and the segment is cut back to its last whole record
 * (and, on open, to the last whole record found), so no record ever follows a torn one. After a
 * failed sync the state of the unsynced pages is unknown: that segment takes no more records.
 */
const MAGIC = 0x46524d31;
const HEADER_BYTES = 16;
const SEGMENT_SUFFIX = '.frames';
const ACKS_SUFFIX = '.acks';

export interface SpoolEntry<M> {
  segment: number;
  offset: number;
  /** Bytes of the whole record. */
  length: number;
  imageBytes: number;
  meta: M;
}

export class SpoolFullError extends Error {
  readonly code = 'spool_full';
}

/** An entry's record on disk is not what was appended (shorter, or its checksum differs): it cannot be read back. */
export class SpoolCorruptError extends Error {
  readonly code = 'spool_corrupt';
}

interface Segment {
  seq: number;
  file: string;
  handle?: fs.FileHandle;
  /** Bytes on disk (up to the last whole record for the segment being written). */
  bytes: number;
  entries: number;
  acked: number;
  acks?: fs.FileHandle;
  /** An ack line could not be written whole: no more are written (its entries may be processed again after a crash). */
  acksFailed?: boolean;
  /** Ack writes and the deletion of this segment happen one after another. */
  chain: Promise<void>;
  /** Offsets acknowledged and not yet written: acks that come together (a batch of records) share one write. */
  pendingAcks: number[];
  /** The queued write that will take `pendingAcks`, while it has not started. */
  ackWrite?: Promise<void>;
  deleted: boolean;
}

interface PendingAppend<M> {
  buffers: Buffer[];
  size: number;
  imageBytes: number;
  meta: M;
  resolve(entry: SpoolEntry<M>): void;
  reject(err: unknown): void;
}

export interface FrameSpoolOptions {
  dir: string;
  /** Appends are refused once the segments on disk hold this many bytes. */
  maxBytes: number;
  /** A segment is closed and a new one started past this size. */
  segmentBytes?: number;
}

const segmentName = (seq: number) => String(seq).padStart(12, '0');

/** Writes every byte of `buffers` at `position`: a short write (a full disk) is continued, and fails once no byte lands. */
async function writeAll(handle: fs.FileHandle, buffers: Buffer[], position: number): Promise<void> {
  const rest = buffers.filter((b) => b.length > 0);
  const total = rest.reduce((n, b) => n + b.length, 0);
  let at = position;
  while (rest.length > 0) {
    let bytesWritten: number;
    try {
      ({ bytesWritten } = await handle.writev(rest, at));
    } catch (err) {
      if (at === position) throw err;
      const { code } = err as NodeJS.ErrnoException;
      throw Object.assign(new Error(`${(err as Error).message} after ${at - position} of ${total} bytes`, { cause: err }), { code });
    }
    if (bytesWritten <= 0) throw Object.assign(new Error(`no more bytes written after ${at - position} of ${total}`), { code: 'ENOSPC' });
    at += bytesWritten;
    let skip = bytesWritten;
    while (skip > 0 && skip >= rest[0].length) skip -= rest.shift()!.length;
    if (skip > 0) rest[0] = rest[0].subarray(skip);
  }
}

/** Whether every entry of the segment is acknowledged (stored). */
const allAcked = (segment: Segment) => segment.acked === segment.entries;

/** Runs `step` after what `segment.chain` holds, whether that failed or not. */
function chained(segment: Segment, step: () => Promise<void>): Promise<void> {
  segment.chain = segment.chain.catch(() => undefined).then(step);
  return segment.chain.catch(() => undefined);
}

export class FrameSpool<M> {
  private readonly segments = new Map<number, Segment>();
  private active: Segment | undefined;
  private nextSeq: number;
  private batch: PendingAppend<M>[] = [];
  private writing: Promise<void> | undefined;
  private diskBytes = 0;
  /** Bytes of appends accepted but not yet on disk. */
  private reservedBytes = 0;
  private unacked = 0;
  private closed = false;
  /** fsyncs so far (group commit: fewer than appends under concurrency). */
  syncs = 0;
  /** Writes of ack lines so far (acks that come together share one). */
  ackWrites = 0;

  private constructor(
    private readonly options: FrameSpoolOptions,
    nextSeq: number,
  ) {
    this.nextSeq = nextSeq;
  }

  /** Opens the spool and returns every entry on disk that was not acknowledged, oldest first. */
  static async open<M>(options: FrameSpoolOptions): Promise<{ spool: FrameSpool<M>; recovered: SpoolEntry<M>[] }> {
    await fs.mkdir(options.dir, { recursive: true });
    const files = (await fs.readdir(options.dir)).filter((f) => f.endsWith(SEGMENT_SUFFIX)).sort();
    const seqs = files.map((f) => Number.parseInt(f, 10)).filter(Number.isSafeInteger);
    const spool = new FrameSpool<M>(options, seqs.length ? Math.max(...seqs) + 1 : 1);
    const recovered: SpoolEntry<M>[] = [];
    for (const seq of seqs) recovered.push(...(await spool.recoverSegment(seq)));
    return { spool, recovered };
  }

  /** Bytes of the segments on disk. */
  get bytes(): number {
    return this.diskBytes;
  }

  /** Entries appended and not yet acknowledged. */
  get pending(): number {
    return this.unacked;
  }

  /** Whether an append of `bytes` more would be refused now. */
  isFull(bytes = 0): boolean {
    return this.diskBytes - this.reclaimableBytes() + this.reservedBytes + bytes > this.options.maxBytes;
  }

  /** Bytes of the segment being written when every entry in it is acknowledged and no write is under way: an append that needs them deletes it first. */
  private reclaimableBytes(): number {
    const active = this.active;
    return active && !this.writing && allAcked(active) ? active.bytes : 0;
  }

  /** Resolves once the frame is durable; rejects with SpoolFullError when the spool is at its bound. */
  append(meta: M, image: Buffer): Promise<SpoolEntry<M>> {
    if (this.closed) return Promise.reject(new Error('the frame spool is closed'));
    const metaBytes = Buffer.from(JSON.stringify(meta));
    const size = HEADER_BYTES + metaBytes.length + image.length;
    if (this.isFull(size)) return Promise.reject(new SpoolFullError(`the frame spool holds its limit of ${this.options.maxBytes} bytes`));
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32BE(MAGIC, 0);
    header.writeUInt32BE(metaBytes.length, 4);
    header.writeUInt32BE(image.length, 8);
    header.writeUInt32BE(crc32(image, crc32(metaBytes)), 12);
    this.reservedBytes += size;
    return new Promise((resolve, reject) => {
      this.batch.push({ buffers: [header, metaBytes, image], size, imageBytes: image.length, meta, resolve, reject });
      this.startWriting();
    });
  }

  /** The entry's image, read back and checked against its record's checksum; SpoolCorruptError when it is not what was appended. */
  async readImage(entry: SpoolEntry<M>): Promise<Buffer> {
    const segment = this.segments.get(entry.segment);
    if (!segment || segment.deleted) throw new SpoolCorruptError(`spool segment ${entry.segment} is gone`);
    const handle = await fs.open(segment.file, 'r');
    try {
      const record = Buffer.alloc(entry.length);
      const { bytesRead } = await handle.read(record, 0, record.length, entry.offset);
      const where = `spool segment ${entry.segment} at ${entry.offset}`;
      if (bytesRead !== record.length) throw new SpoolCorruptError(`${where}: ${bytesRead} of the record's ${record.length} bytes on disk`);
      const metaBytes = record.subarray(HEADER_BYTES, entry.length - entry.imageBytes);
      const image = record.subarray(entry.length - entry.imageBytes);
      if (
        record.readUInt32BE(0) !== MAGIC ||
        record.readUInt32BE(8) !== entry.imageBytes ||
        crc32(image, crc32(metaBytes)) !== record.readUInt32BE(12)
      )
        throw new SpoolCorruptError(`${where}: the record on disk is not the one appended`);
      return image;
    } finally {
      await handle.close();
    }
  }

  /** Marks an entry processed; deletes its segment once every entry in it is. */
  ack(entry: SpoolEntry<M>): Promise<void> {
    const segment = this.segments.get(entry.segment);
    if (!segment || segment.deleted || this.closed) return Promise.resolve();
    segment.acked++;
    this.unacked--;
    if (allAcked(segment) && segment !== this.active) return this.deleteSegment(segment);
    segment.pendingAcks.push(entry.offset);
    return (segment.ackWrite ??= chained(segment, () => this.writeAcks(segment)));
  }

  private async writeAcks(segment: Segment): Promise<void> {
    segment.ackWrite = undefined;
    const offsets = segment.pendingAcks.splice(0);
    if (segment.deleted || segment.acksFailed || offsets.length === 0) return;
    try {
      segment.acks ??= await fs.open(`${segment.file.slice(0, -SEGMENT_SUFFIX.length)}${ACKS_SUFFIX}`, 'a');
      const lines = Buffer.from(offsets.map((offset) => `${offset}\n`).join(''));
      this.ackWrites++;
      // A line written in part must not run into the next one: recovery ignores an unfinished last line.
      if ((await segment.acks.write(lines)).bytesWritten !== lines.length) throw new Error('ack lines written in part');
    } catch {
      segment.acksFailed = true;
      await segment.acks?.close().catch(() => undefined);
      segment.acks = undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
    const last = this.active;
    if (last && allAcked(last)) await this.deleteSegment(last);
    for (const segment of this.segments.values()) {
      await segment.chain.catch(() => undefined);
      await segment.handle?.close().catch(() => undefined);
      await segment.acks?.close().catch(() => undefined);
    }
  }

  private startWriting() {
    if (this.writing) return;
    this.writing = this.writeBatches().finally(() => {
      this.writing = undefined;
      if (this.batch.length > 0) this.startWriting();
    });
  }

  private async writeBatches(): Promise<void> {
    while (this.batch.length > 0) {
      const batch = this.batch.splice(0);
      const size = batch.reduce((n, b) => n + b.size, 0);
      let written = false;
      try {
        const segment = await this.segmentToWrite(size);
        await writeAll(
          segment.handle!,
          batch.flatMap((b) => b.buffers),
          segment.bytes,
        );
        written = true;
        await segment.handle!.datasync();
        this.syncs++;
        let offset = segment.bytes;
        const entries = batch.map((b) => {
          const entry: SpoolEntry<M> = { segment: segment.seq, offset, length: b.size, imageBytes: b.imageBytes, meta: b.meta };
          offset += b.size;
          return entry;
        });
        segment.bytes = offset;
        segment.entries += batch.length;
        this.diskBytes += size;
        this.unacked += batch.length;
        this.reservedBytes -= size;
        batch.forEach((b, i) => b.resolve(entries[i]));
      } catch (err) {
        this.reservedBytes -= size;
        await this.cutBackActive(written);
        batch.forEach((b) => b.reject(err));
      }
    }
  }

  /**
   * After a failed write, part of the batch may be on disk: the segment is cut back to its last
   * whole record, so no record follows a torn one. After a failed sync (or a failed cut) the
   * segment's unsynced state is unknown: it is retired, and the next batch starts a new one.
   */
  private async cutBackActive(syncFailed: boolean) {
    const segment = this.active;
    if (!segment?.handle) return;
    const cut = await segment.handle.truncate(segment.bytes).then(
      () => true,
      () => false,
    );
    if (syncFailed || !cut) await this.retireActive();
  }

  private async segmentToWrite(bytes: number): Promise<Segment> {
    const current = this.active;
    const full = current && current.bytes >= (this.options.segmentBytes ?? 8 * 1024 * 1024);
    const needed = current && allAcked(current) && this.diskBytes + bytes > this.options.maxBytes;
    if (current && !full && !needed) return current;
    await this.retireActive();
    const seq = this.nextSeq++;
    const file = path.join(this.options.dir, `${segmentName(seq)}${SEGMENT_SUFFIX}`);
    const segment: Segment = { seq, file, bytes: 0, entries: 0, acked: 0, chain: Promise.resolve(), pendingAcks: [], deleted: false };
    segment.handle = await fs.open(file, 'wx');
    this.segments.set(seq, segment);
    this.active = segment;
    try {
      // The new file's directory entry must survive a crash too.
      const dir = await fs.open(this.options.dir, 'r');
      await dir.sync().finally(() => dir.close());
    } catch (err) {
      // Not durable: the segment takes no record, and goes (it holds none).
      await this.retireActive();
      throw err;
    }
    return segment;
  }

  private async retireActive() {
    const segment = this.active;
    if (!segment) return;
    this.active = undefined;
    await segment.handle?.close().catch(() => undefined);
    segment.handle = undefined;
    if (allAcked(segment)) await this.deleteSegment(segment);
  }

  private deleteSegment(segment: Segment): Promise<void> {
    return chained(segment, async () => {
      if (segment.deleted) return;
      segment.deleted = true;
      this.segments.delete(segment.seq);
      this.diskBytes -= segment.bytes;
      await segment.handle?.close().catch(() => undefined);
      await segment.acks?.close().catch(() => undefined);
      await fs.rm(`${segment.file.slice(0, -SEGMENT_SUFFIX.length)}${ACKS_SUFFIX}`, { force: true });
      await fs.rm(segment.file, { force: true });
    });
  }

  private async recoverSegment(seq: number): Promise<SpoolEntry<M>[]> {
    const file = path.join(this.options.dir, `${segmentName(seq)}${SEGMENT_SUFFIX}`);
    const data = await fs.readFile(file);
    const acksFile = `${file.slice(0, -SEGMENT_SUFFIX.length)}${ACKS_SUFFIX}`;
    const acksText = await fs.readFile(acksFile, 'utf8').catch(() => '');
    const wholeLines = acksText.slice(0, acksText.lastIndexOf('\n') + 1);
    // An unfinished last line (a write cut short) is no ack, and later lines must not run into it.
    if (wholeLines.length < acksText.length) await fs.truncate(acksFile, Buffer.byteLength(wholeLines));
    const acked = new Set(wholeLines.split('\n').filter(Boolean).map(Number));
    const entries: SpoolEntry<M>[] = [];
    let offset = 0;
    let records = 0;
    while (offset + HEADER_BYTES <= data.length && data.readUInt32BE(offset) === MAGIC) {
      const metaLength = data.readUInt32BE(offset + 4);
      const imageBytes = data.readUInt32BE(offset + 8);
      const length = HEADER_BYTES + metaLength + imageBytes;
      if (offset + length > data.length) break;
      const metaBytes = data.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + metaLength);
      const image = data.subarray(offset + HEADER_BYTES + metaLength, offset + length);
      if (crc32(image, crc32(metaBytes)) !== data.readUInt32BE(offset + 12)) break;
      records++;
      if (!acked.has(offset)) entries.push({ segment: seq, offset, length, imageBytes, meta: JSON.parse(metaBytes.toString('utf8')) as M });
      offset += length;
    }
    // What follows the last whole record was never acknowledged: cut off, it can never precede a record.
    if (offset < data.length) await fs.truncate(file, offset);
    const segment: Segment = {
      seq,
      file,
      bytes: offset,
      entries: records,
      acked: records - entries.length,
      chain: Promise.resolve(),
      pendingAcks: [],
      deleted: false,
    };
    this.segments.set(seq, segment);
    this.diskBytes += segment.bytes;
    this.unacked += entries.length;
    if (entries.length === 0) await this.deleteSegment(segment);
    return entries;
  }
}
