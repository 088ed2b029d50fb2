import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';
import { characteristicsOfRgb, computeImageCharacteristics, decodeForAnalysis } from '../../core/features/imageCharacteristics.js';

// Stored reference profiles and drift thresholds depend on the characteristics' exact values, so
// these frames of the edge simulator (and crops of one at the analysis's border cases) must keep
// the values recorded in characteristics.json by scripts/characteristicsFixture.ts, bit for bit.
const FIXTURE_DIR = path.join(import.meta.dirname, '..', 'fixtures', 'frames');
const pinned = JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, 'characteristics.json'), 'utf8')) as Record<string, ImageCharacteristics>;
const frames = Object.keys(pinned);

describe('image characteristics of the fixture frames', () => {
  it('covers every preset of the edge simulator and the border crops', () => {
    expect(frames.length).toBeGreaterThanOrEqual(27);
    expect(frames.filter((f) => f.endsWith('.jpg'))).toHaveLength(18);
    for (const values of Object.values(pinned)) expect(Object.keys(values).sort()).toEqual([...IMAGE_CHARACTERISTIC_FIELDS].sort());
  });

  it.each(frames)('%s keeps its recorded values exactly', async (frame) => {
    const actual = await computeImageCharacteristics(fs.readFileSync(path.join(FIXTURE_DIR, frame)));
    for (const field of IMAGE_CHARACTERISTIC_FIELDS) {
      expect(Object.is(actual[field], pinned[frame][field]), `${field}: ${actual[field]} vs pinned ${pinned[frame][field]}`).toBe(true);
    }
  });

  it('refuses pixels whose size and bytes disagree instead of reading past them', () => {
    const data = new Uint8Array(4 * 3 * 3);
    expect(() => characteristicsOfRgb({ width: 4, height: 3, data })).not.toThrow();
    for (const [width, height] of [
      [4, 4],
      [0, 0],
      [3.5, 4],
      [12, 1.5],
    ]) {
      expect(() => characteristicsOfRgb({ width, height, data })).toThrow(RangeError);
    }
  });

  it('gives the same values from pixels decoded once (characteristicsOfRgb)', async () => {
    for (const frame of frames) {
      const rgb = await decodeForAnalysis(fs.readFileSync(path.join(FIXTURE_DIR, frame)), 160);
      expect(characteristicsOfRgb(rgb)).toEqual(pinned[frame]);
    }
  });
});
