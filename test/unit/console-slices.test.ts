import { describe, expect, it } from 'vitest';
import { DISTANCE_BANDS, STOP_BAND } from '../../core/training/distanceBands.js';
import { BAND_SLICES, sliceRows } from '../../console/src/slices.js';

describe("the version page's slices", () => {
  it('names the same bands as the training code, the stop band last', () => {
    expect(BAND_SLICES).toEqual([...DISTANCE_BANDS, STOP_BAND].map(({ key, label }) => ({ key, label })));
  });

  it('gives a row per band and deployment the metrics hold, beside the previous version on the same test set', () => {
    const metrics = {
      test_mae_mm: 9,
      test_frames_0_20: 0,
      test_frames_20_100: 12,
      test_mae_mm_20_100: 14.5,
      test_frames_100_350: 30,
      test_mae_mm_100_350: 6,
      test_frames_over_350: 0,
      test_frames_stop: 12,
      test_mae_mm_stop: 14.5,
      'test_frames_at_yard-b': 10,
      'test_mae_mm_at_yard-b': 8,
      test_frames_at_yard: 32,
      test_mae_mm_at_yard: 9.4,
    };
    const rows = sliceRows(metrics, { test_mae_mm_stop: 11, test_mae_mm_at_yard: 10 });
    expect(rows.bands).toEqual([
      { key: '0_20', slice: '<= 20 mm', frames: 0, mae: null, previous: null },
      { key: '20_100', slice: '20-100 mm', frames: 12, mae: 14.5, previous: null },
      { key: '100_350', slice: '100-350 mm', frames: 30, mae: 6, previous: null },
      { key: 'over_350', slice: '> 350 mm', frames: 0, mae: null, previous: null },
      { key: 'stop', slice: 'stop band (<= 100 mm)', frames: 12, mae: 14.5, previous: 11 },
    ]);
    expect(rows.deployments).toEqual([
      { key: 'at_yard', slice: 'yard', frames: 32, mae: 9.4, previous: 10 },
      { key: 'at_yard-b', slice: 'yard-b', frames: 10, mae: 8, previous: null },
    ]);
  });

  it('has no rows for a version measured before slices', () => {
    expect(sliceRows({ test_mae_mm: 9 })).toEqual({ bands: [], deployments: [] });
  });
});
