import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';
import type { Rng } from '../../core/random.js';
import type { InferenceRecord } from '../../core/stores/measurements.js';

/** A frame's characteristics around `centre`, each feature on its own scale (feature i around i * 100 + centre). */
export const characteristicsAround = (rng: Rng, centre: number) =>
  Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f, i) => [f, i * 100 + rng.gaussian(centre, 5)])) as ImageCharacteristics;

/**
 * `count` labelled frames of one rover of `deployment` answered by version 1 of `modelName`, 50 ms apart up to now:
 * readings 0..250 mm, errors like a model's with that standard deviation (5 mm: the reference profiles' test error),
 * characteristics around `centre`. A world that moved hurts the model: give its frames a larger `errorSd`, or the
 * laser vouches for the model and the check calls the moved characteristics `harmless-drift`.
 */
export function recordsAround(
  rng: Rng,
  frames: { deployment: string; modelName: string; count: number; centre: number; errorSd?: number },
): InferenceRecord[] {
  const { deployment, modelName, count, centre, errorSd = 5 } = frames;
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const sensorValue = rng.uniform(0, 250);
    const prediction = sensorValue + rng.gaussian(0, errorSd);
    return {
      time: now - (count - i) * 50,
      deployment,
      client: 'rover',
      modelName,
      modelVersion: 1,
      prediction,
      sensorValue,
      error: Math.abs(prediction - sensorValue),
      latencyMs: 5,
      imageKey: `features/${deployment}/${now}-${i}.jpg`,
      characteristics: characteristicsAround(rng, centre),
    };
  });
}
