/** Real JPEGs for the MJPEG splitter and the fake camera: the simulator's fixture frames, and variants of them. */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export const FIXTURE_FRAMES_DIR = fileURLToPath(new URL('../fixtures/frames/', import.meta.url));

export function fixtureJpegs(): Buffer[] {
  return readdirSync(FIXTURE_FRAMES_DIR)
    .filter((name) => name.endsWith('.jpg'))
    .sort()
    .map((name) => readFileSync(FIXTURE_FRAMES_DIR + name));
}

export async function progressiveJpeg(jpeg: Buffer): Promise<Buffer> {
  return sharp(jpeg).jpeg({ progressive: true, quality: 90 }).toBuffer();
}

/**
 * `main` with an Exif APP1 segment that carries `thumbnail` (IFD1's JPEGInterchangeFormat), as cameras write them: a
 * whole JPEG, SOI to EOI, inside the first segment of another.
 */
export function withExifThumbnail(main: Buffer, thumbnail: Buffer): Buffer {
  const tiff = Buffer.alloc(44);
  tiff.write('II', 0, 'latin1');
  tiff.writeUInt16LE(42, 2);
  tiff.writeUInt32LE(8, 4); // IFD0 at 8: no entries, IFD1 next
  tiff.writeUInt16LE(0, 8);
  tiff.writeUInt32LE(14, 10);
  tiff.writeUInt16LE(2, 14); // IFD1 at 14: where the thumbnail is and how long
  const entry = (at: number, tag: number, value: number) => {
    tiff.writeUInt16LE(tag, at);
    tiff.writeUInt16LE(4, at + 2); // LONG
    tiff.writeUInt32LE(1, at + 4);
    tiff.writeUInt32LE(value, at + 8);
  };
  entry(16, 0x0201, 44);
  entry(28, 0x0202, thumbnail.length);
  tiff.writeUInt32LE(0, 40);
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff, thumbnail]);
  const header = Buffer.from([0xff, 0xe1, 0, 0]);
  header.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([main.subarray(0, 2), header, payload, main.subarray(2)]);
}

export async function thumbnailOf(jpeg: Buffer): Promise<Buffer> {
  return sharp(jpeg).resize(40, 30).jpeg({ quality: 60 }).toBuffer();
}
