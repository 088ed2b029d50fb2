import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../core/ml/architectures.js';
import { loadBackend } from '../../core/ml/backend.js';
import { compileForTraining } from '../../core/ml/graphTraining.js';

const { tf } = await loadBackend('tensorflow');

/** Frames whose label is a function of their pixels, so training moves the weights a meaningful way. */
function frames(count: number, height: number, width: number, seed: number) {
  const pixels = new Uint8Array(count * height * width * 3);
  let s = seed;
  for (let i = 0; i < pixels.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    pixels[i] = s >> 23;
  }
  const labels = new Float32Array(count);
  const perFrame = height * width * 3;
  for (let i = 0; i < count; i++) {
    let sum = 0;
    for (let p = 0; p < perFrame; p += 6) sum += pixels[i * perFrame + p];
    labels[i] = Math.min(1, Math.max(0, (sum / (perFrame / 6) / 255 - 0.45) * 8));
  }
  return { pixels, labels };
}

const weightsOf = (model: ReturnType<typeof buildModel>) => model.getWeights().map((w) => w.dataSync() as Float32Array);

/**
 * The reference step: tfjs's own gradients of the mean squared error, and Adam as TensorFlow's ApplyAdam (and Keras)
 * computes it, where epsilon is added to sqrt(v) before the bias correction (tfjs's own Adam adds it after).
 */
function referenceStep(
  model: ReturnType<typeof buildModel>,
  state: { m: Tensor[]; v: Tensor[]; t: number },
  x: Tensor,
  y: Tensor,
  lr: number,
) {
  const variables = model.trainableWeights.map((w) => w.read() as Variable);
  const { value, grads } = tf.variableGrads(
    () => tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as Tensor) as Scalar,
    variables,
  );
  state.t += 1;
  const [b1, b2, eps] = [0.9, 0.999, 1e-7];
  const lrT = (lr * Math.sqrt(1 - b2 ** state.t)) / (1 - b1 ** state.t);
  variables.forEach((variable, i) => {
    const g = grads[variable.name];
    const m = tf.tidy(() => state.m[i].mul(b1).add(g.mul(1 - b1)));
    const v = tf.tidy(() => state.v[i].mul(b2).add(g.square().mul(1 - b2)));
    variable.assign(tf.tidy(() => variable.sub(m.div(v.sqrt().add(eps)).mul(lrT))));
    tf.dispose([state.m[i], state.v[i]]);
    [state.m[i], state.v[i]] = [m, v];
  });
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  return loss;
}

describe('the training graph', () => {
  for (const [architecture, width, height] of [
    ['compact', 32, 24],
    ['thesis-inception', 40, 30],
  ] as const) {
    it(`takes the steps of tfjs's gradients and TensorFlow's Adam on ${architecture} (no dropout)`, async () => {
      const count = 24;
      const batch = 8;
      const learningRate = 0.003;
      const { pixels, labels } = frames(count, height, width, 11);
      const options = { width, height, dropout: 0, learningRate, seed: 5 };
      const reference = buildModel(tf, architecture, options);
      const graphModel = buildModel(tf, architecture, options);
      const start = weightsOf(reference);

      const x = tf.tidy(() => tf.tensor4d(pixels, [count, height, width, 3], 'int32').toFloat().div(255));
      const y = tf.tensor2d(labels, [count, 1]);
      const trainer = await compileForTraining(tf, graphModel, 1);
      trainer.load(pixels, labels);
      const state = {
        m: reference.trainableWeights.map((w) => tf.zeros(w.shape as number[])),
        v: reference.trainableWeights.map((w) => tf.zeros(w.shape as number[])),
        t: 0,
      };
      for (let step = 0; step < 6; step++) {
        const from = (step * batch) % count;
        const { loss, mae } = trainer.step(Int32Array.from({ length: batch }, (_, i) => from + i));
        const [xb, yb] = [x.slice(from, batch), y.slice(from, batch)];
        expect(loss.dataSync()[0]).toBeCloseTo(referenceStep(reference, state, xb, yb, learningRate), 5);
        tf.dispose([loss, mae, xb, yb]);
      }
      await trainer.copyTo(graphModel);
      trainer.dispose();

      const graphWeights = weightsOf(graphModel);
      for (const [i, w] of weightsOf(reference).entries()) {
        let difference = 0;
        let movement = 0;
        for (let j = 0; j < w.length; j++) {
          difference = Math.max(difference, Math.abs(graphWeights[i][j] - w[j]));
          movement = Math.max(movement, Math.abs(w[j] - start[i][j]));
        }
        expect(movement, reference.weights[i].originalName).toBeGreaterThan(1e-3);
        expect(difference / movement, reference.weights[i].originalName).toBeLessThan(1e-3);
      }
      tf.dispose([x, y, ...state.m, ...state.v]);
      reference.dispose();
      graphModel.dispose();
    });
  }
});
