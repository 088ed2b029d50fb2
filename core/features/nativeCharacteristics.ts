import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { IMAGE_CHARACTERISTIC_FIELDS } from './fields.js';

const require = createRequire(import.meta.url);

/** The addon scripts/build-native.sh builds from native/imageCharacteristics.cc. */
export const FEATURES_ADDON = fileURLToPath(new URL('../../native/build/mlops_features.node', import.meta.url));

/** The tables imageCharacteristics.ts fills with Math.pow and Math.cbrt, which the C++ takes rather than recomputes. */
export interface ColourTables {
  rToXyz: Float64Array;
  gToXyz: Float64Array;
  bToXyz: Float64Array;
  labF: Float64Array;
  hsvSDiv: Int32Array;
  hsvHDiv: Int32Array;
}

interface FeaturesAddon {
  init(...tables: [Float64Array, Float64Array, Float64Array, Float64Array, Int32Array, Int32Array]): void;
  characteristics(rgb: Uint8Array, width: number, height: number, out: Float64Array): void;
}

/** The characteristics of interleaved RGB bytes, in the order of IMAGE_CHARACTERISTIC_FIELDS. */
export type NativeCharacteristics = (rgb: Uint8Array, width: number, height: number) => Float64Array;

/**
 * The C++ characteristics (the same values as the TypeScript, bit for bit: test/unit/characteristicsNative.test.ts),
 * or why they are not available: the addon is built by scripts/build-native.sh at setup.
 */
export function loadNativeCharacteristics(tables: ColourTables): { compute?: NativeCharacteristics; reason?: string } {
  let addon: FeaturesAddon;
  try {
    addon = require(FEATURES_ADDON) as FeaturesAddon;
  } catch (err) {
    return { reason: `${FEATURES_ADDON} did not load (scripts/build-native.sh builds it): ${(err as Error).message.split('\n')[0]}` };
  }
  addon.init(tables.rToXyz, tables.gToXyz, tables.bToXyz, tables.labF, tables.hsvSDiv, tables.hsvHDiv);
  return {
    compute: (rgb, width, height) => {
      const out = new Float64Array(IMAGE_CHARACTERISTIC_FIELDS.length);
      addon.characteristics(rgb, width, height, out);
      return out;
    },
  };
}
