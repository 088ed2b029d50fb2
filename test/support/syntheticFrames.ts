import sharp from 'sharp';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';
import type { Stores } from '../../core/stores/index.js';
import type { InferenceRecord } from '../../core/stores/measurements.js';

/** A simple labelled frame for store and workflow tests: a bright band whose height encodes the distance. */
export async function syntheticFrame(distanceMm: number, width = 80, height = 60): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3, 60);
  const bandTop = Math.round((1 - Math.min(distanceMm, 350) / 350) * (height - 8));
  for (let y = bandTop; y < bandTop + 8; y++) raw.fill(230, y * width * 3, (y + 1) * width * 3);
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

const NO_CHARACTERISTICS = Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f) => [f, 0])) as ImageCharacteristics;

/**
 * `count` labelled frames of deployment `d` as the API would have stored them (image object and record, laser
 * readings spread over 0..350 mm, no prediction): what a training run assembles its dataset from.
 */
export async function storeLabelledFrames(stores: Pick<Stores, 'objects' | 'measurements'>, count: number): Promise<void> {
  const records: InferenceRecord[] = [];
  for (let i = 0; i < count; i++) {
    const imageKey = `features/d/${i}.jpg`;
    await stores.objects.put(imageKey, await syntheticFrame((i * 53) % 350));
    records.push({
      time: i,
      deployment: 'd',
      client: 'c',
      modelName: null,
      modelVersion: null,
      prediction: null,
      sensorValue: (i * 53) % 350,
      error: null,
      latencyMs: 1,
      imageKey,
      characteristics: NO_CHARACTERISTICS,
    });
  }
  await stores.measurements.write(records);
}
