import { describe, expect, it } from 'vitest';
import { loadBackend } from '../../core/ml/backend.js';
import type { Split } from '../../core/ml/dataset.js';
import { imageToPixels } from '../../core/ml/imagePixels.js';
import { evaluateMm, trainModel } from '../../core/ml/train.js';
import { renderFrame } from '../../edge/camera.js';
import { getPreset } from '../../edge/presets.js';
import { createRng } from '../../core/random.js';

const size = { width: 32, height: 24 };

async function framesOf(presetId: string, count: number, seed: number): Promise<Split> {
  const preset = getPreset(presetId);
  const rng = createRng(seed);
  const pixels = new Uint8Array(count * size.width * size.height * 3);
  const labelsMm = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const distanceMm = rng.uniform(0, preset.maxStartMm);
    const jpeg = await renderFrame(preset.scene, { distanceMm, angleDeg: rng.uniform(-preset.maxAngleDeg, preset.maxAngleDeg) }, rng);
    pixels.set(await imageToPixels(jpeg, size), i * size.width * size.height * 3);
    labelsMm[i] = distanceMm;
  }
  return { pixels, labelsMm, count };
}

function framesBeyond(split: Split, minMm: number): Split {
  const frameBytes = size.width * size.height * 3;
  const keep = [...split.labelsMm.keys()].filter((i) => split.labelsMm[i] > minMm);
  const pixels = new Uint8Array(keep.length * frameBytes);
  keep.forEach((src, dst) => pixels.set(split.pixels.subarray(src * frameBytes, (src + 1) * frameBytes), dst * frameBytes));
  return { pixels, labelsMm: Float32Array.from(keep, (i) => split.labelsMm[i]), count: keep.length };
}

/** Trains the compact CNN on one preset; returns how to measure its error on other frames. */
async function modelTrainedOn(presetId: string, count: number, seed: number) {
  const { tf } = await loadBackend('auto');
  const train = await framesOf(presetId, count, seed);
  const { model } = await trainModel(tf, {
    architecture: 'compact',
    ...size,
    labelMaxMm: 350,
    seed,
    train,
    test: train,
    params: { epochs: 25, batchSize: 32, dropout: 0.1, learningRate: 0.002 },
  });
  return (frames: Split) => evaluateMm(tf, model, frames, size.height, size.width, 350);
}

/**
 * The simulator's presets must move a model the way the thesis saw: a CNN trained on the
 * beige floor reads beige well and fails on the green floor (covariate shift), and a model
 * trained on 0-250 mm cannot predict beyond it (label shift). The unseen checker floor
 * (phase 6) must move it too, though its mean colour is beige's.
 */
describe('camera presets produce the drift of their phase', () => {
  it('trained on beige-350, a CNN is accurate on beige, far off on green and clearly off on the unseen checker floor', async () => {
    const errorOn = await modelTrainedOn('beige-350', 600, 1);
    const beige = await errorOn(await framesOf('beige-350', 150, 2));
    const green = await errorOn(await framesOf('green-350', 150, 3));
    const checker = await errorOn(await framesOf('checker-350', 150, 7));
    console.log(
      `beige-trained CNN: beige ${beige.mae_mm.toFixed(1)} mm, green ${green.mae_mm.toFixed(1)} mm, checker ${checker.mae_mm.toFixed(1)} mm`,
    );
    expect(beige.mae_mm).toBeLessThan(25);
    expect(green.mae_mm).toBeGreaterThan(4 * beige.mae_mm);
    // The checker keeps beige's mean colour (test/unit/edge-presets.test.ts) yet moves the error. Training is not
    // bit-reproducible and some models lean less on the floor than others: 3.3x to 7.7x beige's error in 8 logged
    // runs, under 3x once.
    expect(checker.mae_mm).toBeGreaterThan(2 * beige.mae_mm);
  });

  it('trained on beige-250, a CNN under-predicts the far frames of beige-350', async () => {
    const errorOn = await modelTrainedOn('beige-250', 500, 4);
    const far = framesBeyond(await framesOf('beige-350', 300, 5), 300);
    expect(far.count).toBeGreaterThan(20);
    const onTrainRange = await errorOn(await framesOf('beige-250', 150, 6));
    const beyond = await errorOn(far);
    console.log(`beige-250-trained CNN: 0-250 mm ${onTrainRange.mae_mm.toFixed(1)} mm, 300-350 mm ${beyond.mae_mm.toFixed(1)} mm`);
    expect(beyond.mae_mm).toBeGreaterThan(3 * onTrainRange.mae_mm);
  });
});
