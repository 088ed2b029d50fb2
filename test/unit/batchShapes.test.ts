import { describe, expect, it } from 'vitest';
import { batchShapes } from '../../serving/inferenceProtocol.js';

/** The shapes a model is compiled and warmed for, and so what a micro-batch is padded up to. */
describe('batchShapes', () => {
  it('has powers of two and three times them, up to the first that holds the frames', () => {
    expect(batchShapes(1)).toEqual([1]);
    expect(batchShapes(3)).toEqual([1, 2, 3]);
    expect(batchShapes(8)).toEqual([1, 2, 3, 4, 6, 8]);
    expect(batchShapes(9)).toEqual([1, 2, 3, 4, 6, 8, 12]);
    expect(batchShapes(32)).toEqual([1, 2, 3, 4, 6, 8, 12, 16, 24, 32]);
  });

  // A graph call's cost is mostly fixed, but its frames are not free: the thesis CNN at 100x75 spent 1.50 ms a frame
  // on 3 frames padded to 4 and 1.33 ms in a shape of 3 (bench/README, the fifth stop).
  it('pads a batch by less than half of its frames', () => {
    for (let frames = 1; frames <= 64; frames++) {
      const padded = batchShapes(frames).at(-1)!;
      expect(padded).toBeGreaterThanOrEqual(frames);
      expect(padded).toBeLessThanOrEqual(Math.ceil(frames * 1.5));
    }
  });
});
