/**
 * The benchmark's data: parking runs recorded once with the edge simulator (camera, laser,
 * driver), then replayed by simulated rovers and turned into training sets, so every
 * benchmark sees the same frames and no rendering competes with what is being measured.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { imageToPixels } from '../core/ml/imagePixels.js';
import { runParking, type EdgeFrame } from '../edge/parkingRun.js';

export interface RecordedRun {
  frames: EdgeFrame[];
}

export interface RecordedFrames {
  preset: string;
  runs: RecordedRun[];
  /** Frames with a laser reading: the ones a dataset can use. */
  labelled: number;
  total: number;
  renderSeconds: number;
}

/** Drives parking runs until exactly `labelledTarget` frames carry a laser reading (the last run is cut short). */
export async function recordParkingRuns(preset: string, labelledTarget: number, seed = 7): Promise<RecordedFrames> {
  const started = performance.now();
  const runs: RecordedRun[] = [];
  let labelled = 0;
  for (let i = 0; labelled < labelledTarget; i++) {
    const frames: EdgeFrame[] = [];
    await runParking({
      preset,
      seed: seed * 100_003 + i,
      send: async (frame) => {
        frames.push(frame);
        return { ok: true, predictionMm: frame.sensorMm ?? frame.trueMm };
      },
    });
    const kept: EdgeFrame[] = [];
    for (const frame of frames) {
      if (labelled >= labelledTarget) break;
      kept.push(frame);
      if (frame.sensorMm !== null) labelled++;
    }
    runs.push({ frames: kept });
  }
  return {
    preset,
    runs,
    labelled,
    total: runs.reduce((n, run) => n + run.frames.length, 0),
    renderSeconds: (performance.now() - started) / 1000,
  };
}

export interface DatasetFiles {
  pixelsPath: string;
  labelsPath: string;
  count: number;
  width: number;
  height: number;
}

/**
 * The labelled frames at a model input size, as raw files (uint8 HWC pixels, float32 mm
 * labels) that the tfjs and the Keras benchmark both read. Takes `count` frames after the first `skip`.
 */
export async function writeTrainingSet(
  recorded: RecordedFrames,
  count: number,
  size: { width: number; height: number },
  dir: string,
  { skip = 0, name = 'train' } = {},
): Promise<DatasetFiles> {
  const labelledFrames = recorded.runs.flatMap((run) => run.frames.filter((f) => f.sensorMm !== null)).slice(skip, skip + count);
  const frameBytes = size.width * size.height * 3;
  const pixels = Buffer.alloc(labelledFrames.length * frameBytes);
  const labels = new Float32Array(labelledFrames.length);
  for (const [i, frame] of labelledFrames.entries()) {
    pixels.set(await imageToPixels(frame.jpeg, size), i * frameBytes);
    labels[i] = frame.sensorMm!;
  }
  await fs.mkdir(dir, { recursive: true });
  const base = path.join(dir, `${name}-${size.width}x${size.height}`);
  await fs.writeFile(`${base}-pixels.u8`, pixels);
  await fs.writeFile(`${base}-labels.f32`, Buffer.from(labels.buffer));
  return { pixelsPath: `${base}-pixels.u8`, labelsPath: `${base}-labels.f32`, count: labelledFrames.length, ...size };
}
