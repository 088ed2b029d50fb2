import { createRequire } from 'node:module';
import { useNativeStep } from './nativeStep.js';
import { loadTfOps } from './tfOps.js';

export type Tf = typeof import('@tensorflow/tfjs');
export type BackendPreference = 'auto' | 'tensorflow' | 'cpu';

export interface LoadedBackend {
  tf: Tf;
  /** 'tensorflow' (native kernels through tfjs-node) or 'cpu' (pure JavaScript). */
  name: string;
  /** Why native TensorFlow is not in use, when it is not. */
  fallbackReason?: string;
}

const require = createRequire(import.meta.url);
let loaded: Promise<LoadedBackend> | undefined;

async function load(preference: BackendPreference): Promise<LoadedBackend> {
  if (preference !== 'cpu') {
    try {
      // tfjs-node is CommonJS and registers the native 'tensorflow' backend on load.
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
      const tf = require('@tensorflow/tfjs-node') as Tf;
      await tf.setBackend('tensorflow');
      await tf.ready();
      useNativeStep(tf);
      loadTfOps();
      return { tf, name: tf.getBackend() };
    } catch (err) {
      if (preference === 'tensorflow') {
        throw new Error(`ML_BACKEND=tensorflow but @tensorflow/tfjs-node cannot load: ${(err as Error).message}`, { cause: err });
      }
      const reason = (err as Error).message.split('\n')[0];
      const tf = require('@tensorflow/tfjs') as Tf;
      await tf.setBackend('cpu');
      await tf.ready();
      console.warn(
        `\n*** ML engine: native TensorFlow unavailable, falling back to pure-JS tfjs (cpu backend, ~100x slower).\n*** reason: ${reason}\n*** run scripts/install-native-tf.sh to build it.\n`,
      );
      return { tf, name: 'cpu', fallbackReason: reason };
    }
  }
  const tf = require('@tensorflow/tfjs') as Tf;
  await tf.setBackend('cpu');
  await tf.ready();
  return { tf, name: 'cpu', fallbackReason: 'ML_BACKEND=cpu' };
}

/** Loads the ML backend once per process; later calls return the same one. */
export function loadBackend(preference: BackendPreference = 'auto'): Promise<LoadedBackend> {
  loaded ??= load(preference);
  return loaded;
}
