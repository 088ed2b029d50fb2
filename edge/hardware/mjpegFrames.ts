/**
 * An MJPEG byte stream (what `rpicam-vid --codec mjpeg -o -` writes: JPEG after JPEG, no container) split into one
 * Buffer per JPEG. It walks the JPEG markers rather than searching for FFD9, so an EOI inside an embedded thumbnail
 * (an APP1 segment) or an FFD9 that is not a marker cannot cut a frame short: SOI, then length-prefixed segments,
 * after SOS the entropy-coded data up to the first marker that is neither stuffing (FF00) nor a restart (FFD0-D7),
 * and so on to EOI. Bytes outside any frame, broken frames and frames over the bound are dropped and counted.
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface MjpegFrameStats {
  frames: number;
  /** Bytes not delivered in any frame: before an SOI, in broken or oversized frames, a partial frame at the end. */
  droppedBytes: number;
  /** Frames begun (SOI seen) but dropped: broken structure, over `maxFrameBytes`, or cut off by a new SOI or the end. */
  droppedFrames: number;
}

const MARKER = 0xff;
const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const TEM = 0x01;
const isRestart = (m: number) => m >= 0xd0 && m <= 0xd7;

type State = { kind: 'seek-soi' } | { kind: 'marker' } | { kind: 'skip'; to: number; then: 'marker' | 'scan' } | { kind: 'scan' };

export class MjpegFrames extends Transform {
  readonly stats: MjpegFrameStats = { frames: 0, droppedBytes: 0, droppedFrames: 0 };
  private buf = Buffer.alloc(64 * 1024);
  /** Bytes held in `buf`; a frame being read always starts at 0. */
  private len = 0;
  /** Where parsing resumes in `buf`. */
  private pos = 0;
  private state: State = { kind: 'seek-soi' };

  constructor(private readonly maxFrameBytes = 4 * 1024 * 1024) {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let offset = 0;
    while (offset < chunk.length) {
      // Take no more than the bound allows, so a stream without frame ends is never held whole.
      const take = Math.min(chunk.length - offset, this.maxFrameBytes + 1 - this.len);
      this.append(chunk.subarray(offset, offset + take));
      offset += take;
      this.parse();
      if (this.state.kind !== 'seek-soi' && this.len > this.maxFrameBytes) this.dropFrame(this.len);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.state.kind === 'seek-soi') this.stats.droppedBytes += this.len;
    else this.dropFrame(this.len);
    this.len = 0;
    done();
  }

  private append(bytes: Buffer): void {
    if (this.len + bytes.length > this.buf.length) {
      const grown = Buffer.alloc(Math.max(this.buf.length * 2, this.len + bytes.length));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    bytes.copy(this.buf, this.len);
    this.len += bytes.length;
  }

  /** Forgets the first `n` bytes of `buf` (positions shift down). */
  private discard(n: number): void {
    this.buf.copy(this.buf, 0, n, this.len);
    this.len -= n;
    this.pos = Math.max(0, this.pos - n);
  }

  /**
   * Gives up the frame being read where its structure broke: the next SOI is looked for inside it, as one that a
   * truncated segment swallowed is there.
   */
  private breakFrame(): void {
    this.stats.droppedFrames++;
    this.pos = 2;
    this.state = { kind: 'seek-soi' };
  }

  /** Drops the frame being read up to `upTo` and looks for the next SOI from there. */
  private dropFrame(upTo: number): void {
    this.stats.droppedFrames++;
    this.stats.droppedBytes += upTo;
    this.discard(upTo);
    this.pos = 0;
    this.state = { kind: 'seek-soi' };
  }

  private parse(): void {
    const buf = this.buf;
    for (;;) {
      const state = this.state;
      if (state.kind === 'seek-soi') {
        let i = this.pos;
        while (i + 1 < this.len && !(buf[i] === MARKER && buf[i + 1] === SOI)) i++;
        if (i + 1 >= this.len) {
          // Keep a trailing FF: it may be the first half of the next SOI.
          const keep = this.len > 0 && buf[this.len - 1] === MARKER ? 1 : 0;
          this.stats.droppedBytes += this.len - keep;
          this.discard(this.len - keep);
          this.pos = 0;
          return;
        }
        this.stats.droppedBytes += i;
        this.discard(i);
        this.pos = 2;
        this.state = { kind: 'marker' };
      } else if (state.kind === 'skip') {
        if (this.len < state.to) return;
        this.pos = state.to;
        this.state = { kind: state.then };
      } else if (state.kind === 'scan') {
        const held = buf.subarray(0, this.len);
        let i = this.pos;
        for (;;) {
          const ff = held.indexOf(MARKER, i);
          if (ff < 0) {
            this.pos = this.len;
            return;
          }
          if (ff + 1 >= this.len) {
            this.pos = ff;
            return;
          }
          const next = buf[ff + 1];
          if (next === 0x00 || isRestart(next)) i = ff + 2;
          else if (next === MARKER) i = ff + 1;
          else {
            this.pos = ff;
            this.state = { kind: 'marker' };
            break;
          }
        }
      } else {
        let p = this.pos;
        if (p >= this.len) return;
        if (buf[p] !== MARKER) {
          this.breakFrame();
          continue;
        }
        // Fill bytes: any number of FF may precede a marker.
        while (p + 1 < this.len && buf[p + 1] === MARKER) p++;
        this.pos = p;
        if (p + 1 >= this.len) return;
        const marker = buf[p + 1];
        if (marker === EOI) {
          this.deliver(p + 2);
        } else if (marker === SOI) {
          // A frame cut off (the camera restarted mid-frame): the new one starts here.
          this.dropFrame(p);
        } else if (isRestart(marker) || marker === TEM) {
          this.pos = p + 2;
        } else if (marker === 0x00) {
          this.breakFrame();
        } else {
          if (p + 3 >= this.len) return;
          const length = buf.readUInt16BE(p + 2);
          if (length < 2) {
            this.breakFrame();
            continue;
          }
          this.state = { kind: 'skip', to: p + 2 + length, then: marker === SOS ? 'scan' : 'marker' };
        }
      }
    }
  }

  private deliver(end: number): void {
    if (end > this.maxFrameBytes) return this.dropFrame(end);
    const frame = Buffer.from(this.buf.subarray(0, end));
    this.discard(end);
    this.pos = 0;
    this.state = { kind: 'seek-soi' };
    this.stats.frames++;
    this.push(frame);
  }
}
