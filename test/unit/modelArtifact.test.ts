import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../core/ml/architectures.js';
import type { Tf } from '../../core/ml/backend.js';
import { deserializeModel, serializeModel } from '../../core/ml/modelArtifact.js';

const require = createRequire(import.meta.url);

describe('model artifacts', () => {
  it('carry their metadata and give the same predictions after a round trip, across backends when native TF is present', async () => {
    let tf: Tf;
    let backends = ['cpu'];
    try {
      tf = require('@tensorflow/tfjs-node') as Tf;
      backends = ['tensorflow', 'cpu'];
    } catch {
      tf = require('@tensorflow/tfjs') as Tf;
    }
    await tf.setBackend(backends[0]);
    const model = buildModel(tf, 'compact', { width: 20, height: 15, dropout: 0.2, learningRate: 0.001 });
    const x = tf.randomUniform([4, 15, 20, 3]);
    const expected = Array.from(await (model.predict(x) as import('@tensorflow/tfjs').Tensor).data());
    const meta = { architecture: 'compact', width: 20, height: 15, labelMaxMm: 350, backend: backends[0] };
    const saved = await serializeModel(tf, model, meta);
    expect(saved.sha256).toMatch(/^[0-9a-f]{64}$/);

    await tf.setBackend(backends[backends.length - 1]);
    const loaded = await deserializeModel(tf, saved.modelJson, saved.weights);
    expect(loaded.metadata).toEqual(meta);
    const xOnOther = tf.tensor(await x.data(), x.shape);
    const got = Array.from(await (loaded.model.predict(xOnOther) as import('@tensorflow/tfjs').Tensor).data());
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    await tf.setBackend(backends[0]);
  });

  it('builds the thesis CNN with about 2 M parameters at 100x75 and refuses unknown architectures', async () => {
    const tf = require('@tensorflow/tfjs') as Tf;
    const model = buildModel(tf, 'thesis-inception', { width: 100, height: 75, dropout: 0.1, learningRate: 0.001 });
    expect(model.countParams()).toBeGreaterThan(1_500_000);
    expect(model.countParams()).toBeLessThan(2_500_000);
    expect(model.outputs[0].shape).toEqual([null, 1]);
    expect(() => buildModel(tf, 'resnet', { width: 8, height: 8, dropout: 0, learningRate: 0.1 })).toThrow(/unknown architecture "resnet"/);
  });
});

describe('architectures', () => {
  it('initialise the same weights for the same seed and different ones for another', async () => {
    const tf = require('@tensorflow/tfjs') as Tf;
    const weightsOf = async (seed: number) => {
      const model = buildModel(tf, 'compact', { width: 16, height: 12, dropout: 0, learningRate: 0.001, seed });
      return Promise.all(model.getWeights().map(async (w) => Array.from(await w.data())));
    };
    const [a, b, c] = [await weightsOf(7), await weightsOf(7), await weightsOf(8)];
    expect(a).toEqual(b);
    expect(a[0]).not.toEqual(c[0]);
    expect(a[0]).not.toEqual(a[2].slice(0, a[0].length));
  });
});
