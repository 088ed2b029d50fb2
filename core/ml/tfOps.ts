import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The addon scripts/build-native.sh builds next to tfjs-node's libtensorflow: loading it registers the op. */
export const TF_OPS_ADDON = 'mlops_tf_ops.node';
export const LANCZOS3_OP = 'MlopsLanczos3Resize';

let loaded: { op?: string; reason?: string } | undefined;

/**
 * Registers this project's TensorFlow ops (native/lanczos3Resize.cc) in the process, once, after tfjs-node has loaded
 * libtensorflow. Without the addon the JPEG graphs use TensorFlow's ScaleAndTranslate: the same bytes, slower.
 */
export function loadTfOps(): { op?: string; reason?: string } {
  if (!loaded) {
    try {
      const lib = path.join(path.dirname(require.resolve('@tensorflow/tfjs-node/package.json')), 'deps', 'lib', TF_OPS_ADDON);
      const { op } = require(lib) as { op?: string };
      loaded = op === LANCZOS3_OP ? { op } : { reason: `${TF_OPS_ADDON} registered no ${LANCZOS3_OP}` };
    } catch (err) {
      loaded = { reason: `${TF_OPS_ADDON} did not load (scripts/build-native.sh builds it): ${(err as Error).message.split('\n')[0]}` };
    }
  }
  return loaded;
}

/** Whether MlopsLanczos3Resize is registered in this process (loadBackend loads it with native TensorFlow). */
export const hasLanczos3Op = (): boolean => loaded?.op === LANCZOS3_OP;
