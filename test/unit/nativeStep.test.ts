import type { Tensor } from '@tensorflow/tfjs';
import { stepConfig } from '@tensorflow/tfjs-node/dist/kernels/Step.js';
import { describe, expect, it } from 'vitest';
import { loadBackend } from '../../core/ml/backend.js';
import { useNativeStep } from '../../core/ml/nativeStep.js';

/** The Step kernel the backend loads with answers exactly as tfjs-node's own, on every kind of input. */
describe('native Step kernel', () => {
  it("is the one the backend loads, and gives tfjs-node's values and ReLU gradients", async () => {
    const { tf } = await loadBackend('tensorflow');
    expect(tf.getKernel('Step', 'tensorflow')!.kernelFunc).not.toBe(stepConfig.kernelFunc);

    const values = [-3, -0.5, -0, 0, 1e-30, 0.5, 7, NaN, Infinity, -Infinity];
    const x = tf.tensor2d([...values, ...values.map((v) => v * 2)], [4, values.length / 2]);
    const reluGradient = (input: Tensor) => tf.grad((t: Tensor) => tf.relu(t).mul(tf.scalar(3)).sum())(input);
    const answers = () => [tf.step(x).arraySync(), tf.step(x, 0.2).arraySync(), reluGradient(x).arraySync()];

    tf.unregisterKernel('Step', 'tensorflow');
    tf.registerKernel(stepConfig);
    const original = answers();
    useNativeStep(tf);
    expect(answers()).toEqual(original);
    expect((original[0] as number[][]).flat().some(Number.isNaN)).toBe(true);
  });
});
