import { describe, expect, it } from 'vitest';
import { buildModel } from '../../core/ml/architectures.js';
import { loadBackend } from '../../core/ml/backend.js';
import type { Split } from '../../core/ml/dataset.js';
import { errorsMm, pixelsToTensor, predictMm, predictSplitMm, trainModel } from '../../core/ml/train.js';
import { holdOut } from '../../core/ml/trialRunner.js';

const { tf } = await loadBackend('tensorflow');
const [width, height] = [16, 12];
const frameBytes = width * height * 3;

/** Frames whose label grows with their brightness, so a model can learn them. */
function split(count: number, seed: number): Split {
  const pixels = new Uint8Array(count * frameBytes);
  const labelsMm = new Float32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    const level = (i * 37) % 256;
    for (let p = 0; p < frameBytes; p++) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      pixels[i * frameBytes + p] = Math.min(255, level + (s >> 27));
    }
    labelsMm[i] = (level / 255) * 300;
  }
  return { pixels, labelsMm, count };
}

const request = (learningRate: number, epochs: number) => ({
  architecture: 'compact',
  width,
  height,
  labelMaxMm: 350,
  params: { epochs, batchSize: 16, dropout: 0.1, learningRate },
  train: split(96, 1),
  test: split(24, 2),
  seed: 3,
});

describe('a trial within a budget: early stopping, warm start, the validation hold-out', () => {
  it('stops after `patience` epochs without a better validation MAE, and says so', async () => {
    // Adam with a zero learning rate never moves the weights: the validation MAE never improves after the first epoch.
    const result = await trainModel(tf, { ...request(0, 10), validation: split(24, 4), earlyStopping: { patience: 2 } });
    expect(result.history.val_mae_mm).toHaveLength(3);
    expect(result).toMatchObject({ epochsRun: 3, stoppedEarly: true, bestEpoch: 1 });
    expect((result.metrics as Record<string, number>).val_mae_mm).toBe(result.history.val_mae_mm[0]);
    result.model.dispose();
  });

  it('keeps the best epoch of a trial that improves, and runs every epoch while it does', async () => {
    const result = await trainModel(tf, { ...request(0.01, 3), validation: split(24, 4), earlyStopping: { patience: 5 } });
    expect(result).toMatchObject({ epochsRun: 3, stoppedEarly: false });
    const best = Math.min(...result.history.val_mae_mm);
    expect((result.metrics as Record<string, number>).val_mae_mm).toBe(best);
    expect(result.bestEpoch).toBe(result.history.val_mae_mm.indexOf(best) + 1);
    result.model.dispose();
  });

  it('starts a warm trial from the given weights instead of fresh ones', async () => {
    const earlier = buildModel(tf, 'compact', { width, height, dropout: 0.1, learningRate: 0.001, seed: 99 });
    const start = earlier.getWeights();
    const result = await trainModel(tf, { ...request(0, 1), initialWeights: start });
    const after = result.model.getWeights();
    expect(after.length).toBe(start.length);
    after.forEach((w, i) => expect(Array.from(w.dataSync() as Float32Array)).toEqual(Array.from(start[i].dataSync() as Float32Array)));
    result.model.dispose();
    earlier.dispose();
  });

  it('holds out the same frames for every trial, none of them trained on, in their stored order', () => {
    const stored = split(50, 5);
    const a = holdOut(stored, 0.2, 42, frameBytes);
    const b = holdOut(stored, 0.2, 42, frameBytes);
    expect(a.validation.count).toBe(10);
    expect(a.train.count).toBe(40);
    expect(Array.from(a.validation.labelsMm)).toEqual(Array.from(b.validation.labelsMm));
    // Every frame lands on exactly one side, with its own pixels.
    const frameOf = (s: Split, i: number) => Buffer.from(s.pixels.subarray(i * frameBytes, (i + 1) * frameBytes)).toString('hex');
    const all = new Set(Array.from({ length: stored.count }, (_, i) => frameOf(stored, i)));
    const sides = [
      ...Array.from({ length: a.train.count }, (_, i) => frameOf(a.train, i)),
      ...Array.from({ length: a.validation.count }, (_, i) => frameOf(a.validation, i)),
    ];
    expect(new Set(sides)).toEqual(all);
    expect(sides).toHaveLength(stored.count);
  });

  it('measures a split larger than a chunk frame by frame as one call on all of it would', async () => {
    const model = buildModel(tf, 'compact', { width, height, dropout: 0.1, learningRate: 0.001, seed: 7 });
    const frames = split(1100, 6);
    const x = pixelsToTensor(tf, frames.pixels, frames.count, height, width);
    const whole = await predictMm(tf, model, x, 350);
    x.dispose();
    expect(Array.from(await predictSplitMm(tf, model, frames, height, width, 350))).toEqual(Array.from(whole));
    const errors = await errorsMm(tf, model, frames, height, width, 350);
    expect(errors[1050]).toBeCloseTo(Math.abs(whole[1050] - Math.min(350, frames.labelsMm[1050])), 6);
    model.dispose();
  });
});
