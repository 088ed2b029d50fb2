import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristicField, type ImageCharacteristics } from '../features/fields.js';
import { clipLabel } from '../ml/labels.js';
import { sketchOf, type ReferenceSketch } from './referenceSketch.js';

/**
 * What a registered model version learned from, kept with the version (registry + object store) so
 * a drift check compares a live window with it without going back to raw frames: a sketch of each
 * image characteristic and of the laser labels over the version's dataset (train and test splits,
 * the frames it was fitted and selected on), and of its absolute errors on the test split.
 */
export const REFERENCE_PROFILE_FORMAT = 'mlops-reference-profile/v1';

/**
 * Quantiles per sketch. 1001, not the statistics' default 101: whole-number features (keypoint and
 * edge counts) leave a 101-quantile sketch's CDF off by up to 1/100, which KS flags as drift on
 * windows of tens of thousands of frames (core/drift/referenceSketch.ts).
 */
export const PROFILE_QUANTILES = 1001;

export interface ReferenceProfile {
  format: typeof REFERENCE_PROFILE_FORMAT;
  modelName: string;
  version: number;
  /** The dataset the version was trained on (its manifest) and the run that trained it. */
  source: { manifestKey: string; workflowId: string; runId: string };
  frames: number;
  /** One sketch per image characteristic that every frame of the dataset has. */
  features: Partial<Record<ImageCharacteristicField, ReferenceSketch>>;
  /** Characteristics left out because frames of the dataset lack them (recorded before they existed). */
  missingFeatures: ImageCharacteristicField[];
  /** The laser readings, clipped to the range the model predicts (0..labelMaxMm), as it was trained on them. */
  labels: ReferenceSketch & { labelMaxMm: number };
  /** |prediction - label| in mm on every frame of the test split. */
  testErrors: ReferenceSketch;
}

export interface ProfileInput {
  modelName: string;
  version: number;
  source: ReferenceProfile['source'];
  rows: { sensorValue: number; characteristics: Partial<ImageCharacteristics> }[];
  labelMaxMm: number;
  testErrorsMm: number[];
}

export function referenceProfileOf(input: ProfileInput): ReferenceProfile {
  const { rows } = input;
  if (rows.length === 0) throw new Error('a reference profile needs at least one frame');
  const features: ReferenceProfile['features'] = {};
  const missingFeatures: ImageCharacteristicField[] = [];
  for (const field of IMAGE_CHARACTERISTIC_FIELDS) {
    const values = rows.map((r) => r.characteristics[field]);
    if (values.every((v): v is number => typeof v === 'number' && Number.isFinite(v)))
      features[field] = sketchOf(values, PROFILE_QUANTILES);
    else missingFeatures.push(field);
  }
  const labels = rows.map((r) => clipLabel(r.sensorValue, input.labelMaxMm));
  return {
    format: REFERENCE_PROFILE_FORMAT,
    modelName: input.modelName,
    version: input.version,
    source: input.source,
    frames: rows.length,
    features,
    missingFeatures,
    labels: { ...sketchOf(labels, PROFILE_QUANTILES), labelMaxMm: input.labelMaxMm },
    testErrors: sketchOf(input.testErrorsMm, PROFILE_QUANTILES),
  };
}
