import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../core/random.js';
import { MjpegFrames } from '../../edge/hardware/mjpegFrames.js';
import { fixtureJpegs, progressiveJpeg, thumbnailOf, withExifThumbnail } from '../support/jpegs.js';

async function split(chunks: Buffer[], maxFrameBytes?: number) {
  const splitter = new MjpegFrames(maxFrameBytes);
  const frames: Buffer[] = [];
  await pipeline(Readable.from(chunks), splitter, async (source: AsyncIterable<Buffer>) => {
    for await (const frame of source) frames.push(frame);
  });
  return { frames, stats: splitter.stats };
}

/** `bytes` cut into pieces whose sizes `size()` picks. */
function chunked(bytes: Buffer, size: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = Math.max(1, size());
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** Bytes with no SOI in them (FF only before bytes that do not make one). */
function garbage(length: number, seed: number): Buffer {
  const rng = createRng(seed);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = i > 0 && out[i - 1] === 0xff ? rng.int(0xd8) : rng.int(256);
  if (out[length - 1] === 0xff) out[length - 1] = 0;
  return out;
}

let frames: Buffer[];

beforeAll(async () => {
  const plain = fixtureJpegs();
  const withThumbnail = withExifThumbnail(plain[7], await thumbnailOf(plain[3]));
  frames = [plain[0], await progressiveJpeg(plain[12]), withThumbnail, plain[5], await progressiveJpeg(withThumbnail), plain[17]];
});

describe('MjpegFrames', () => {
  it('the test frames are real JPEGs: each decodes, and one carries a whole thumbnail JPEG in its Exif segment', async () => {
    for (const frame of frames) expect((await sharp(frame).metadata()).format).toBe('jpeg');
    const exif = (await sharp(frames[2]).metadata()).exif!;
    expect(exif.includes(Buffer.from([0xff, 0xd9]))).toBe(true);
    expect(frames[2].indexOf(Buffer.from([0xff, 0xd9]))).toBeLessThan(frames[2].length - 2);
  });

  it('splits the stream into the same frames however it is chunked', async () => {
    const stream = Buffer.concat(frames);
    const rng = createRng(5);
    const chunkings: Record<string, Buffer[]> = {
      whole: [stream],
      'one byte': chunked(stream, () => 1),
      'odd sizes': chunked(stream, () => [1, 2, 3, 7, 13, 333, 4093][rng.int(7)]),
      random: chunked(stream, () => 1 + rng.int(3000)),
    };
    for (const [name, chunks] of Object.entries(chunkings)) {
      const { frames: got, stats } = await split(chunks);
      expect(got, name).toEqual(frames);
      expect(stats, name).toEqual({ frames: frames.length, droppedBytes: 0, droppedFrames: 0 });
    }
  });

  it('a cut at every byte of two frames gives the same two frames', async () => {
    const two = [frames[2], frames[1]];
    const stream = Buffer.concat(two);
    for (let cut = 1; cut < stream.length; cut++) {
      const { frames: got } = await split([stream.subarray(0, cut), stream.subarray(cut)]);
      expect(got.length, `cut at ${cut}`).toBe(2);
      expect(got[0].equals(two[0]) && got[1].equals(two[1]), `cut at ${cut}`).toBe(true);
    }
  });

  it("a thumbnail's EOI does not end the frame", async () => {
    const { frames: got } = await split([frames[2]]);
    expect(got).toEqual([frames[2]]);
    expect((await sharp(got[0]).metadata()).width).toBe((await sharp(frames[2]).metadata()).width);
  });

  it('skips and counts garbage before, between and after frames', async () => {
    const before = garbage(1000, 1);
    const between = garbage(37, 2);
    const after = garbage(5, 3);
    const stream = Buffer.concat([before, frames[0], between, frames[1], frames[3], after]);
    const { frames: got, stats } = await split(chunked(stream, () => 101));
    expect(got).toEqual([frames[0], frames[1], frames[3]]);
    expect(stats).toEqual({ frames: 3, droppedBytes: before.length + between.length + after.length, droppedFrames: 0 });
  });

  it('a frame cut off (in its scan, or in a segment) is dropped and counted, and the next frame is whole', async () => {
    const inScan = frames[0].subarray(0, frames[0].length - 200);
    const inSegment = frames[3].subarray(0, 30);
    const stream = Buffer.concat([inScan, frames[1], inSegment, frames[4]]);
    for (const chunks of [[stream], chunked(stream, () => 7)]) {
      const { frames: got, stats } = await split(chunks);
      expect(got).toEqual([frames[1], frames[4]]);
      expect(stats).toEqual({ frames: 2, droppedBytes: inScan.length + inSegment.length, droppedFrames: 2 });
    }
  });

  it('stuffed bytes, restart markers and fill bytes in the scan do not end the frame', async () => {
    // A frame's structure (the splitter does not decode): DRI, SOS header, then a scan with FF00, RST0-7 and fill.
    const segment = (marker: number, payload: number[]) => [0xff, marker, 0, payload.length + 2, ...payload];
    const scan = [0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xff, 0xd7, 0xff, 0x00, 0xff, 0xff, 0xd3, 0x78];
    const frame = Buffer.from([0xff, 0xd8, ...segment(0xdd, [0, 4]), ...segment(0xda, [1, 1, 0, 0, 0x3f, 0]), ...scan, 0xff, 0xff, 0xd9]);
    const { frames: got, stats } = await split(chunked(Buffer.concat([frame, frames[0]]), () => 2));
    expect(got).toEqual([frame, frames[0]]);
    expect(stats.droppedFrames).toBe(0);
  });

  it('drops a frame over the bound, and one that never ends, and finds the next one', async () => {
    const big = frames.reduce((a, b) => (b.length > a.length ? b : a));
    const small = frames.find((f) => f.length < big.length / 2)!;
    const bound = big.length - 1;
    // A scan that never reaches a marker: only its bound ends it.
    const scanHeader = [0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0];
    const endless = Buffer.concat([Buffer.from([0xff, 0xd8, ...scanHeader]), Buffer.alloc(bound * 3, 0x55)]);
    const stream = Buffer.concat([small, big, small, endless, small]);
    const { frames: got, stats } = await split(
      chunked(stream, () => 512),
      bound,
    );
    expect(got).toEqual([small, small, small]);
    expect(stats).toEqual({ frames: 3, droppedBytes: big.length + endless.length, droppedFrames: 2 });
  });

  it('counts a partial frame at the end of the stream', async () => {
    const { frames: got, stats } = await split([frames[0], frames[1].subarray(0, 100)]);
    expect(got).toEqual([frames[0]]);
    expect(stats).toEqual({ frames: 1, droppedBytes: 100, droppedFrames: 1 });
  });
});
