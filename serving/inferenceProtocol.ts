import type { BackendPreference } from '../core/ml/backend.js';
import type { RgbImage } from '../core/features/imageCharacteristics.js';
import type { ModelMetadata } from '../core/ml/modelArtifact.js';

/** What the inference thread is started with. */
export interface InferenceThreadData {
  backend: BackendPreference;
  /** Nice levels the thread (and TensorFlow's pools, which it starts) runs below the event loop; 0 or unset: the same. */
  nice?: number;
}

/** A frame as the thread gets it: its JPEG, with its pixels when the API decoded them at the frame's own size. */
export interface FrameInput {
  jpeg: Uint8Array;
  rgb?: RgbImage;
}

export interface LoadRequest {
  kind: 'load';
  /** The thread's name for this load: unique per load, so a lease from before a restart cannot reach a newer copy. */
  model: number;
  label: string;
  modelJson: Uint8Array;
  weights: Uint8Array;
  artifactSha256: string;
  layersOnly: boolean;
  /** Batch sizes to warm before the model serves. */
  warmShapes: number[];
}

export interface PredictRequest {
  kind: 'predict';
  model: number;
  frames: FrameInput[];
}

export interface UnloadRequest {
  kind: 'unload';
  model: number;
}

export interface BackendRequest {
  kind: 'backend';
}

export type InferenceRequest = LoadRequest | PredictRequest | UnloadRequest | BackendRequest;

export interface LoadAnswer {
  metadata: ModelMetadata;
  /**
   * 'jpeg': JPEG bytes in, decode and resize inside the graph (models trained on preprocessing 'graph-v1'); 'graph': the
   * frozen graph from pixels sharp made; 'layers': the layers model op by op.
   */
  path: 'jpeg' | 'graph' | 'layers';
  fallbackReason?: string;
}

/**
 * One per frame: its prediction in mm (with, from a JPEG graph, the frame decoded at its own size), or why it failed
 * (`invalid_image`: the frame, not the model).
 */
export type FrameAnswer = { mm: number; rgb?: RgbImage } | { error: { code: string; message: string } };

export interface PredictAnswer {
  frames: FrameAnswer[];
  /** Native calls of the model this batch took (1, or one per frame when the batch call failed). */
  calls: number;
}

export interface BackendAnswer {
  name: string;
  fallbackReason?: string;
}

/** Messages carry an id; the answer carries it back, with its value or an error. */
export type Envelope<T> = { id: number; message: T };
export type Reply = { id: number; value: unknown } | { id: number; error: { message: string; code?: string } };

/**
 * The batch sizes a model is compiled, warmed and called with, up to the one that holds `frames`: 1, 2, 3, 4, 6, 8,
 * 12, 16, ... (powers of two and three times them), so a batch is padded by less than half of its frames and a model
 * needs only a few shapes. A graph call's cost is mostly fixed but a padded frame is not free: powers of two alone
 * padded the 3 frames a call of 128 frames/s to 4 (bench/README, issue 26's fifth stop).
 */
export function batchShapes(frames: number): number[] {
  const shapes = [1];
  while (shapes.at(-1)! < frames) {
    const last = shapes.at(-1)!;
    shapes.push(last <= 2 ? last + 1 : Number.isInteger(Math.log2(last)) ? (last * 3) / 2 : (last * 4) / 3);
  }
  return shapes;
}
