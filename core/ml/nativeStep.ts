import type { KernelConfig, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs';

type Tf = typeof import('@tensorflow/tfjs');

/**
 * tfjs-node's `Step` kernel (what the gradient of every ReLU calls, once per layer and training step) fills an
 * activation-sized array of ones in JavaScript and uploads it: 8.5 % of a thesis-CNN training step. This one takes
 * the ones from TensorFlow (`OnesLike`) and is otherwise the same: 1 where x > 0, `alpha` elsewhere, NaN stays NaN.
 */
export function useNativeStep(tf: Tf): void {
  if (tf.getBackend() !== 'tensorflow') return;
  const config: KernelConfig = {
    kernelName: 'Step',
    backendName: 'tensorflow',
    kernelFunc: ({ inputs, attrs }) => {
      const x = inputs.x as Tensor;
      const alpha = (attrs as NamedAttrMap).alpha as number;
      return tf.tidy(() => {
        const positive = tf.greater(x, tf.scalar(0, x.dtype));
        const stepped = tf.where(positive, tf.onesLike(x).toFloat(), tf.fill(x.shape, alpha, 'float32'));
        return tf.where(tf.isNaN(x), x.toFloat(), stepped);
      }) as TensorInfo;
    },
  };
  tf.unregisterKernel('Step', 'tensorflow');
  tf.registerKernel(config);
}
