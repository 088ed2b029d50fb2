/**
 * Frames of the drift benchmark: parking runs of one preset rendered by the edge simulator, each
 * frame analysed once into its 22 image characteristics (as the API's analysis does) and reduced
 * to the model's input pixels, then the JPEG is dropped. Frames stay in arrival order, run by run.
 */
import { computeImageCharacteristics } from '../core/features/imageCharacteristics.js';
import type { ImageCharacteristics } from '../core/features/fields.js';
import { imageToPixels, type InputSize } from '../core/ml/imagePixels.js';
import { recordParkingRuns } from './parkingFrames.js';

export interface AnalysedFrame {
  characteristics: ImageCharacteristics;
  /** The laser reading (mm), null when it dropped out. */
  sensorMm: number | null;
  /** Which parking run of the recording the frame belongs to. */
  run: number;
  /** Model input, uint8 HWC. */
  pixels: Uint8Array;
}

export interface PresetRecording {
  preset: string;
  seed: number;
  frames: AnalysedFrame[];
  runs: number;
  /** Render, analysis and resize, wall time. */
  seconds: number;
}

/** At least `labelledFrames` frames with a laser reading, every frame of the runs they came from in order. */
export async function recordAnalysedFrames(
  preset: string,
  labelledFrames: number,
  seed: number,
  input: InputSize,
): Promise<PresetRecording> {
  const started = performance.now();
  const recorded = await recordParkingRuns(preset, labelledFrames, seed);
  const frames: AnalysedFrame[] = [];
  for (const [run, { frames: runFrames }] of recorded.runs.entries()) {
    for (const frame of runFrames) {
      frames.push({
        characteristics: await computeImageCharacteristics(frame.jpeg),
        sensorMm: frame.sensorMm,
        run,
        pixels: await imageToPixels(frame.jpeg, input),
      });
    }
  }
  return { preset, seed, frames, runs: recorded.runs.length, seconds: (performance.now() - started) / 1000 };
}

export const labelledOf = (frames: AnalysedFrame[]) => frames.filter((f): f is AnalysedFrame & { sensorMm: number } => f.sensorMm !== null);
