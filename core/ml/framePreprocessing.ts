import { createRequire } from 'node:module';
import { mapLimit } from '../mapLimit.js';
import type { BackendPreference } from './backend.js';
import { imageToPixels, InvalidImageError, PREPROCESSING_VERSION, type InputSize } from './imagePixels.js';
import type { FramePixels } from './jpegPixels.js';
import { sharedJpegPixelsPool } from './jpegPixelsPool.js';
import { GRAPH_PREPROCESSING, GRAPH_PREPROCESSING_VERSION, type Preprocessing } from './modelArtifact.js';

/** How training makes a frame's model input from its JPEG. */
export interface FramePreprocessing {
  /** The cache key and the dataset manifest's preprocessingVersion. */
  readonly version: number;
  /** What a model trained on these frames records in its metadata (unset: sharp's pixels). */
  readonly preprocessing?: Preprocessing;
  /** The model input of each JPEG, in order; a JPEG that cannot be decoded gives an InvalidImageError. */
  pixelsOf(jpegs: Buffer[], size: InputSize): Promise<FramePixels[]>;
  /** Frames are coming: get ready for them meanwhile (starts the graph's thread). */
  prepare(size: InputSize): void;
  close(): Promise<void>;
}

/** sharp decodes on libuv's thread pool: four at once keep both cores busy. */
const SHARP_CONCURRENCY = 4;

function sharpPreprocessing(): FramePreprocessing {
  return {
    version: PREPROCESSING_VERSION,
    pixelsOf: (jpegs, size) =>
      mapLimit(jpegs, SHARP_CONCURRENCY, (jpeg) =>
        imageToPixels(jpeg, size).catch((err: unknown) => {
          if (err instanceof InvalidImageError) return err;
          throw err;
        }),
      ),
    prepare: () => {},
    close: async () => {},
  };
}

function graphPreprocessing(): FramePreprocessing {
  return {
    version: GRAPH_PREPROCESSING_VERSION,
    preprocessing: GRAPH_PREPROCESSING,
    pixelsOf: (jpegs, size) => sharedJpegPixelsPool().pixelsOf(jpegs, size),
    prepare: (size) => sharedJpegPixelsPool().warm(size),
    // The thread stays for the next preprocess step a while (sharedJpegPixelsPool).
    close: async () => {},
  };
}

const nativeTensorFlowInstalled = () => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
};

/**
 * The JPEG graph (the nodes serving runs, on a thread of its own) wherever native TensorFlow is, so models train on
 * exactly what they are served; sharp's pixels with ML_BACKEND=cpu, or `auto` without tfjs-node installed.
 */
export function framePreprocessing(mlBackend: BackendPreference): FramePreprocessing {
  if (mlBackend === 'cpu' || (mlBackend === 'auto' && !nativeTensorFlowInstalled())) return sharpPreprocessing();
  return graphPreprocessing();
}
