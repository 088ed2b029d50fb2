import { describe, expect, it } from 'vitest';
import { PROFILE_QUANTILES, referenceProfileOf } from '../../core/drift/referenceProfile.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';

const full = (hsv_s: number): ImageCharacteristics =>
  Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f) => [f, f === 'hsv_s' ? hsv_s : 1])) as ImageCharacteristics;
const source = { manifestKey: 'runs/w/r/dataset/manifest.json', workflowId: 'w', runId: 'r' };

describe('reference profile of a model version', () => {
  it('sketches every characteristic, the clipped labels and the test errors', () => {
    const rows = [10, 20, 30, 400].map((sensorValue, i) => ({ sensorValue, characteristics: full(40 + i) }));
    const profile = referenceProfileOf({ modelName: 'm', version: 3, source, rows, labelMaxMm: 350, testErrorsMm: [1, 2, 3, 10] });
    expect(profile).toMatchObject({
      format: 'mlops-reference-profile/v1',
      modelName: 'm',
      version: 3,
      source,
      frames: 4,
      missingFeatures: [],
    });
    expect(Object.keys(profile.features)).toEqual([...IMAGE_CHARACTERISTIC_FIELDS]);
    expect(profile.features.hsv_s).toMatchObject({ n: 4, min: 40, max: 43, mean: 41.5 });
    expect(profile.features.hsv_s!.quantiles).toHaveLength(PROFILE_QUANTILES);
    // The label of 400 mm is clipped to 350, as the model was trained on it.
    expect(profile.labels).toMatchObject({ n: 4, min: 10, max: 350, labelMaxMm: 350, mean: (10 + 20 + 30 + 350) / 4 });
    expect(profile.testErrors).toMatchObject({ n: 4, min: 1, max: 10, mean: 4 });
  });

  it('leaves out characteristics some frames lack and names them', () => {
    const { edge_count: _dropped, ...partial } = full(50);
    const rows = [
      { sensorValue: 100, characteristics: full(50) },
      { sensorValue: 120, characteristics: partial },
    ];
    const profile = referenceProfileOf({ modelName: 'm', version: 1, source, rows, labelMaxMm: 350, testErrorsMm: [5] });
    expect(profile.missingFeatures).toEqual(['edge_count']);
    expect(profile.features.edge_count).toBeUndefined();
    expect(Object.keys(profile.features)).toHaveLength(IMAGE_CHARACTERISTIC_FIELDS.length - 1);
  });

  it('refuses a dataset without frames', () => {
    expect(() => referenceProfileOf({ modelName: 'm', version: 1, source, rows: [], labelMaxMm: 350, testErrorsMm: [1] })).toThrow(
      /at least one frame/,
    );
  });
});
