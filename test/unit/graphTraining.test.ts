import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../core/ml/architectures.js';
import { loadBackend } from '../../core/ml/backend.js';
import { compileForTraining, fitInGraph } from '../../core/ml/graphTraining.js';
import { trainModel } from '../../core/ml/train.js';

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
      // Compared in norm, not element by element: Adam divides each element's gradient by its own running size, so an
      // element whose gradient nearly cancels takes a step that rounding decides, and float sums in another order (on
      // an AMD EPYC with AVX2: up to 2.4 % of the largest step on one element of compact's kernels, 0.25 % of the
      // tensor's step in norm) move it differently. A wrong gradient (a sign, a missing term) moves them another way.
      for (const [i, w] of weightsOf(reference).entries()) {
        let difference = 0;
        let movement = 0;
        for (let j = 0; j < w.length; j++) {
          difference += (graphWeights[i][j] - w[j]) ** 2;
          movement += (w[j] - start[i][j]) ** 2;
        }
        expect(Math.sqrt(movement), reference.weights[i].originalName).toBeGreaterThan(1e-3);
        expect(Math.sqrt(difference / movement), reference.weights[i].originalName).toBeLessThan(1e-2);
      }
      tf.dispose([x, y, ...state.m, ...state.v]);
      reference.dispose();
      graphModel.dispose();
    });
  }

  const stepLosses = async (
    model: ReturnType<typeof buildModel>,
    seed: number,
    steps: number,
    pixels: Uint8Array,
    labels: Float32Array,
  ) => {
    const trainer = await compileForTraining(tf, model, seed);
    trainer.load(pixels, labels);
    const losses: number[] = [];
    for (let step = 0; step < steps; step++) {
      const { loss, mae } = trainer.step(Int32Array.from({ length: 8 }, (_, i) => (step * 8 + i) % labels.length));
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, mae]);
    }
    await trainer.copyTo(model);
    trainer.dispose();
    return losses;
  };

  it('loads the training set in chunks without moving a frame or a label', async () => {
    const { pixels, labels } = frames(30, 12, 16, 13);
    const build = () => buildModel(tf, 'compact', { width: 16, height: 12, dropout: 0, learningRate: 0.001, seed: 6 });
    const lossesOf = async (chunkFrames: number) => {
      const trainer = await compileForTraining(tf, build(), 1);
      trainer.load(pixels, labels, chunkFrames);
      // Steps of one frame each, at the ends of chunks and between them, without changing the weights much.
      const losses = [0, 6, 7, 13, 14, 29].map((i) => {
        const { loss, mae } = trainer.step(Int32Array.of(i));
        const value = mae.dataSync()[0];
        tf.dispose([loss, mae]);
        return value;
      });
      trainer.dispose();
      return losses;
    };
    const whole = await lossesOf(1000);
    expect(await lossesOf(7)).toEqual(whole);
    expect(new Set(whole).size).toBe(whole.length);
  });

  it('drops units in training only, with masks its seed repeats', async () => {
    const { pixels, labels } = frames(16, 24, 32, 3);
    const build = (dropout: number) => buildModel(tf, 'compact', { width: 32, height: 24, dropout, learningRate: 0.001, seed: 9 });
    const [withoutDropout, seeded, sameSeed, otherSeed] = [
      await stepLosses(build(0), 1, 1, pixels, labels),
      await stepLosses(build(0.5), 1, 1, pixels, labels),
      await stepLosses(build(0.5), 1, 1, pixels, labels),
      await stepLosses(build(0.5), 2, 1, pixels, labels),
    ];
    expect(seeded[0]).not.toBeCloseTo(withoutDropout[0], 6);
    expect(sameSeed[0]).toBe(seeded[0]);
    expect(otherSeed[0]).not.toBe(seeded[0]);
  });

  it("continues from copied weights and Adam's state as if it had not stopped", async () => {
    const { pixels, labels } = frames(24, 24, 32, 5);
    const build = () => buildModel(tf, 'compact', { width: 32, height: 24, dropout: 0, learningRate: 0.003, seed: 4 });
    const straight = build();
    const straightLosses = await stepLosses(straight, 1, 6, pixels, labels);
    const stopped = build();
    await stepLosses(stopped, 1, 3, pixels, labels);
    // A fresh trainer from the model reads the weights, the moments and the step count back from it.
    const trainer = await compileForTraining(tf, stopped, 1);
    trainer.load(pixels, labels);
    for (let step = 3; step < 6; step++) {
      const { loss, mae } = trainer.step(Int32Array.from({ length: 8 }, (_, i) => (step * 8 + i) % 24));
      expect(loss.dataSync()[0]).toBeCloseTo(straightLosses[step], 6);
      tf.dispose([loss, mae]);
    }
    await trainer.copyTo(stopped);
    trainer.dispose();
    const expected = weightsOf(straight);
    weightsOf(stopped).forEach((w, i) => w.forEach((v, j) => expect(Math.abs(v - expected[i][j])).toBeLessThan(1e-5)));
  });

  it('leaves no tensors behind, epoch after epoch', async () => {
    const { pixels, labels } = frames(40, 24, 32, 8);
    const model = buildModel(tf, 'compact', { width: 32, height: 24, dropout: 0.1, learningRate: 0.001, seed: 2 });
    const counts: number[] = [];
    const logs: { loss: number; mae: number }[] = [];
    await fitInGraph(tf, model, pixels, labels, {
      epochs: 4,
      initialEpoch: 0,
      batchSize: 16,
      seed: 3,
      onEpochEnd: async (_epoch, epochLogs) => {
        counts.push(tf.memory().numTensors);
        logs.push(epochLogs);
      },
    });
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(logs).toHaveLength(4);
    expect(logs[3].loss).toBeLessThan(logs[0].loss);
    model.dispose();
  });

  it('trains a model it cannot express, or with another loss, with fit, and says so', async () => {
    const { pixels, labels } = frames(16, 12, 16, 6);
    const model = tf.sequential({
      layers: [
        tf.layers.batchNormalization({ inputShape: [12, 16, 3] }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.001), loss: 'meanSquaredError', metrics: ['mae'] });
    const split = { pixels, labelsMm: labels.map((l) => l * 350), count: 16 };
    const common = { architecture: 'compact', width: 16, height: 12, labelMaxMm: 350, train: split, test: split, seed: 1 };
    const params = { epochs: 1, batchSize: 8, dropout: 0, learningRate: 0.001 };
    const fallback = await trainModel(tf, { ...common, params, resume: { model, epochsDone: 0 } });
    expect(fallback.engine).toBe('fit');
    expect(fallback.history.loss).toHaveLength(1);
    const otherLoss = buildModel(tf, 'compact', { width: 16, height: 12, dropout: 0, learningRate: 0.001, seed: 1 });
    otherLoss.compile({ optimizer: tf.train.adam(0.001), loss: 'meanAbsoluteError', metrics: ['mae'] });
    expect((await trainModel(tf, { ...common, params, resume: { model: otherLoss, epochsDone: 0 } })).engine).toBe('fit');
    const graph = await trainModel(tf, { ...common, params });
    expect(graph.engine).toBe('graph');
    expect(Object.keys(graph.history).sort()).toEqual(Object.keys(fallback.history).sort());
  });
});
