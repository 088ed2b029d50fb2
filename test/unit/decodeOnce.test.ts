import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { characteristicsOfRgb, computeImageCharacteristics } from '../../core/features/imageCharacteristics.js';
import { decodeImage, imageToPixels, pixelsForModel } from '../../core/ml/imagePixels.js';

const dir = path.join(import.meta.dirname, '../fixtures/frames');
const frames = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.jpg'))
  .map((f) => ({ name: f, jpeg: fs.readFileSync(path.join(dir, f)) }));

/** One decode of a rover's frame feeds the model and the analysis: neither may see other pixels than before. */
describe('a frame decoded once', () => {
  it.each(frames)('$name: gives every model input the bytes training made from the JPEG', async ({ jpeg }) => {
    const frame = { jpeg, rgb: await decodeImage(jpeg) };
    expect([frame.rgb.width, frame.rgb.height]).toEqual([160, 120]);
    // From the decoded pixels (shrunk less than twice), from the JPEG (shrunk on load), and the frame's own size.
    for (const [width, height] of [
      [100, 75],
      [120, 90],
      [81, 61],
      [80, 60],
      [64, 48],
      [32, 24],
      [160, 120],
    ]) {
      const expected = Buffer.from(await imageToPixels(jpeg, { width, height }));
      expect(Buffer.from(await pixelsForModel(frame, { width, height })).equals(expected), `${width}x${height}`).toBe(true);
    }
  });

  it.each(frames)('$name: gives the analysis the characteristics of its own decode', async ({ jpeg }) => {
    expect(characteristicsOfRgb(await decodeImage(jpeg))).toEqual(await computeImageCharacteristics(jpeg));
  });
});
