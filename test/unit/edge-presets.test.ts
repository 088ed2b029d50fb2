import { beforeAll, describe, expect, it } from 'vitest';
import { isOutsideBand } from '../../core/features/driftRule.js';
import type { ImageCharacteristicField, ImageCharacteristics } from '../../core/features/fields.js';
import { computeImageCharacteristics } from '../../core/features/imageCharacteristics.js';
import { createRng } from '../../core/random.js';
import { renderFrame } from '../../edge/camera.js';
import { PRESETS, type PresetId } from '../../edge/presets.js';

/**
 * How close "looks like beige" is, per mean colour statistic, in the field's own units (0..255, hue 0..180):
 * lightness-like means within 8, chroma-like means (where the floors really differ) within 2.
 */
const MEAN_COLOUR_TOLERANCE: Partial<Record<ImageCharacteristicField, number>> = {
  brightness_mean: 8,
  r_mean: 8,
  g_mean: 8,
  b_mean: 8,
  lab_l: 8,
  hsv_v: 8,
  lab_a: 2,
  lab_b: 2,
  hsv_h: 2,
  hsv_s: 2,
};

const TEXTURE_FIELDS: ImageCharacteristicField[] = ['brightness_std', 'edge_count', 'glcm_contrast', 'glcm_correlation'];

interface Summary {
  mean: number;
  sd: number;
}
type Profile = Record<ImageCharacteristicField, Summary>;

function summarise(frames: ImageCharacteristics[]): Profile {
  const fields = Object.keys(frames[0]) as ImageCharacteristicField[];
  return Object.fromEntries(
    fields.map((field) => {
      const values = frames.map((frame) => frame[field]);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
      return [field, { mean, sd }];
    }),
  ) as Profile;
}

/** The same distances (0-350 mm, straight) and the same camera jitter for every preset. */
async function characteristicsOf(id: PresetId, count: number): Promise<ImageCharacteristics[]> {
  const rng = createRng(61);
  const frames: ImageCharacteristics[] = [];
  for (let i = 0; i < count; i++) {
    const jpeg = await renderFrame(PRESETS[id].scene, { distanceMm: (350 * (i + 0.5)) / count, angleDeg: 0 }, rng);
    frames.push(await computeImageCharacteristics(jpeg));
  }
  return frames;
}

/** Mean colour statistics further from the reference's than the tolerance. */
function meanColourGaps(profile: Profile, reference: Profile): string[] {
  return Object.entries(MEAN_COLOUR_TOLERANCE)
    .filter(
      ([field, tolerance]) =>
        Math.abs(profile[field as ImageCharacteristicField].mean - reference[field as ImageCharacteristicField].mean) > tolerance!,
    )
    .map(([field]) => field);
}

/** Difference of the means in pooled standard deviations. */
function separation(a: Summary, b: Summary): number {
  return Math.abs(a.mean - b.mean) / Math.sqrt((a.sd ** 2 + b.sd ** 2) / 2);
}

/**
 * The unseen floor (phase 6): its frame means must look like the beige floor's, so the thesis's
 * saturation band stays quiet, while its pixels (texture) do not.
 */
describe('the unseen checker floor', () => {
  let beigeFrames: ImageCharacteristics[];
  let beige: Profile;
  let checker: Profile;
  let green: Profile;

  beforeAll(async () => {
    beigeFrames = await characteristicsOf('beige-350', 60);
    beige = summarise(beigeFrames);
    checker = summarise(await characteristicsOf('checker-350', 60));
    green = summarise(await characteristicsOf('green-350', 20));
  }, 60_000);

  it("keeps the beige floor's mean colour statistics", () => {
    const table = Object.keys(MEAN_COLOUR_TOLERANCE).map((f) => {
      const field = f as ImageCharacteristicField;
      return `${field} ${beige[field].mean.toFixed(1)} -> ${checker[field].mean.toFixed(1)}`;
    });
    expect(meanColourGaps(checker, beige), table.join(', ')).toEqual([]);
  });

  it('is not seen by the saturation band rule', () => {
    expect(isOutsideBand(beige.hsv_s.mean)).toBe(false);
    expect(isOutsideBand(checker.hsv_s.mean)).toBe(false);
  });

  it('moves the texture statistics by more than 2 pooled standard deviations', () => {
    for (const field of TEXTURE_FIELDS) {
      const s = separation(checker[field], beige[field]);
      expect(s, `${field}: beige ${beige[field].mean.toFixed(2)}, checker ${checker[field].mean.toFixed(2)}`).toBeGreaterThan(2);
    }
  });

  it('has checks that can fail: green fails the colour check, beige against itself the texture check', () => {
    expect(meanColourGaps(green, beige)).toEqual(expect.arrayContaining(['brightness_mean', 'r_mean', 'lab_a', 'hsv_h', 'hsv_s']));
    expect(isOutsideBand(green.hsv_s.mean)).toBe(true);
    const even = summarise(beigeFrames.filter((_, i) => i % 2 === 0));
    const odd = summarise(beigeFrames.filter((_, i) => i % 2 === 1));
    for (const field of TEXTURE_FIELDS) expect(separation(even[field], odd[field]), field).toBeLessThan(2);
  });
});
