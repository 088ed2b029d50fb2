import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMAGE_CHARACTERISTIC_FIELDS } from '../../core/features/fields.js';
import {
  characteristicsInTypeScript,
  characteristicsOfRgb,
  decodeForAnalysis,
  nativeCharacteristicsUnavailable,
  type RgbImage,
} from '../../core/features/imageCharacteristics.js';
import { FEATURES_ADDON } from '../../core/features/nativeCharacteristics.js';
import { createRng } from '../../core/random.js';

const FIXTURE_DIR = path.join(import.meta.dirname, '..', 'fixtures', 'frames');
const fixtures = fs.readdirSync(FIXTURE_DIR).filter((name) => /\.(jpg|png)$/.test(name));

function image(width: number, height: number, pixel: (x: number, y: number, c: number) => number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = pixel(x, y, c);
  return { width, height, data };
}

/** Blocks of one colour with noise over them: edges, corners and texture, and thousands of colours for the colour cache. */
function noisy(width: number, height: number, seed: number, noise: number): RgbImage {
  const rng = createRng(seed);
  const blocks = Array.from({ length: 64 }, () => [rng.int(256), rng.int(256), rng.int(256)]);
  return image(width, height, (x, y, c) => {
    const base = blocks[((x >> 3) * 7 + (y >> 3) * 3) % 64][c];
    return Math.max(0, Math.min(255, base + rng.int(2 * noise + 1) - noise));
  });
}

function expectSameValues(rgb: RgbImage, label: string): void {
  const reference = characteristicsInTypeScript(rgb);
  const actual = characteristicsOfRgb(rgb);
  for (const field of IMAGE_CHARACTERISTIC_FIELDS) {
    expect(
      Object.is(actual[field], reference[field]),
      `${label} ${field}: ${actual[field]} (C++) vs ${reference[field]} (TypeScript)`,
    ).toBe(true);
  }
}

describe('the image characteristics in C++ (native/imageCharacteristics.cc)', () => {
  it('are built and loaded (scripts/build-native.sh)', () => {
    expect(nativeCharacteristicsUnavailable()).toBeUndefined();
  });

  it('equal the TypeScript bit for bit on every fixture frame and border crop', async () => {
    for (const name of fixtures) expectSameValues(await decodeForAnalysis(fs.readFileSync(path.join(FIXTURE_DIR, name)), 160), name);
  });

  it('equal the TypeScript on noise, every colour, flat and tiny images, one size after another', () => {
    const images: [string, RgbImage][] = [
      ['noise 160x120', noisy(160, 120, 1, 40)],
      ['every byte of each channel 256x256', image(256, 256, (x, y, c) => [x, y, (x * 7 + y * 13) & 255][c])],
      ['faint noise 161x97', noisy(161, 97, 2, 3)],
      ['flat grey 40x30', image(40, 30, () => 128)],
      ['noise 33x250', noisy(33, 250, 3, 90)],
      ['noise 1000x3', noisy(1000, 3, 4, 20)],
      ['noise 7x7', noisy(7, 7, 5, 60)],
      ['noise 6x9', noisy(6, 9, 6, 60)],
      ['one pixel', image(1, 1, (_, __, c) => 60 * c)],
      ['noise 2x1', noisy(2, 1, 7, 60)],
      // Above 640x400: buffers of their own, not kept for the next image.
      ['noise 720x400', noisy(720, 400, 8, 25)],
      ['noise 160x120 again', noisy(160, 120, 9, 40)],
    ];
    for (const [label, rgb] of images) expectSameValues(rgb, label);
  });

  it('refuses sizes and bytes that disagree instead of reading past them', () => {
    const addon = createRequire(import.meta.url)(FEATURES_ADDON) as {
      characteristics(rgb: Uint8Array, width: number, height: number, out: Float64Array): void;
    };
    const out = new Float64Array(22);
    expect(() => addon.characteristics(new Uint8Array(36), 4, 3, out)).not.toThrow();
    for (const [bytes, width, height] of [
      [36, 4, 4],
      [36, 0, 12],
      [36, -4, -3],
      [36, 3.5, 4],
      [36, 2 ** 16, 2 ** 16],
    ]) {
      expect(() => addon.characteristics(new Uint8Array(bytes), width, height, out)).toThrow(RangeError);
    }
    expect(() => addon.characteristics(new Uint8Array(36), 4, 3, new Float64Array(21))).toThrow(RangeError);
    expect(() => addon.characteristics(new Uint8Array(36) as never as Uint8Array, 4, 3, new Float32Array(22) as never)).toThrow(RangeError);
  });
});
