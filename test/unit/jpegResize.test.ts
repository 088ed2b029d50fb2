import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBackend, type Tf } from '../../core/ml/backend.js';
import { compileJpegPixels } from '../../core/ml/jpegPixels.js';
import { hasLanczos3Op, loadTfOps } from '../../core/ml/tfOps.js';
import { createRng } from '../../core/random.js';

const FIXTURE_DIR = path.join(import.meta.dirname, '..', 'fixtures', 'frames');
/** The recorded frames of every preset of the edge simulator (test/fixtures/frames/README.md). */
const recorded = fs
  .readdirSync(FIXTURE_DIR)
  .filter((name) => name.endsWith('.jpg'))
  .map((name) => new Uint8Array(fs.readFileSync(path.join(FIXTURE_DIR, name))));

/** Noise over a ramp, so that sums land everywhere between two bytes, at sizes no camera of ours has. */
async function noisyJpeg(width: number, height: number, seed: number): Promise<Uint8Array> {
  const rng = createRng(seed);
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = rng.next() < 0.5 ? rng.int(256) : (Math.floor(i / 3) % width) * 7;
  return new Uint8Array(
    await sharp(raw, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 92 })
      .toBuffer(),
  );
}

describe("the JPEG graph's lanczos3 resize as this project's op (MlopsLanczos3Resize)", () => {
  let tf: Tf;
  let cacheDir: string;
  let frames: Uint8Array[];

  beforeAll(async () => {
    tf = (await loadBackend('tensorflow')).tf;
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jpeg-resize-test-'));
    const odd = [
      [160, 120],
      [161, 97],
      [33, 250],
      [640, 480],
      [1000, 3],
      [7, 5],
      [1, 1],
    ];
    frames = [...recorded, ...(await Promise.all(odd.map(([w, h], i) => noisyJpeg(w, h, i + 1))))];
  }, 60_000);

  afterAll(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

  it('is registered once native TensorFlow has loaded (scripts/build-native.sh built it)', () => {
    expect(loadTfOps().reason).toBeUndefined();
    expect(hasLanczos3Op()).toBe(true);
  });

  // Down to the model sizes, to the frames' own size, and up.
  it.each([
    [100, 75],
    [64, 48],
    [160, 120],
    [200, 150],
    [3, 2],
  ])("gives the bytes of TensorFlow's ScaleAndTranslate at %ix%i", async (width, height) => {
    const size = { width, height };
    const tensorflows = await compileJpegPixels(tf, size, { cacheDir, resize: 'lanczos3' });
    const ours = await compileJpegPixels(tf, size, { cacheDir, resize: 'lanczos3-mlops' });
    try {
      const expected = tensorflows.pixelsOf(frames);
      const actual = ours.pixelsOf(frames);
      expect(expected.every((p) => p instanceof Uint8Array && p.length === width * height * 3)).toBe(true);
      actual.forEach((pixels, i) => expect(Buffer.compare(pixels as Uint8Array, expected[i] as Uint8Array), `frame ${i}`).toBe(0));
    } finally {
      tensorflows.dispose();
      ours.dispose();
    }
  });
});
