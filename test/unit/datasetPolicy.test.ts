import { describe, expect, it } from 'vitest';
import { trainingConfigSchema } from '../../api/routes/admin.js';
import { splitByHash } from '../../activities/preprocess.js';
import { rangesOf } from '../../core/ml/dataset.js';
import { frameHash, isTestFrame, selectRows } from '../../core/ml/datasetPolicy.js';
import type { DatasetRow } from '../../core/stores/measurements.js';

const rowsOf = (deployment: string, n: number, from = 0): DatasetRow[] =>
  Array.from({ length: n }, (_, i) => ({
    time: from + i,
    deployment,
    imageKey: `features/${deployment}/${from + i}.jpg`,
    sensorValue: i,
    characteristics: {},
  }));

describe('frame-hash split', () => {
  it('puts about the test fraction of frames in test, the same frames every time, and changes with the seed', () => {
    const keys = rowsOf('d', 4000).map((r) => r.imageKey);
    const test = keys.filter((k) => isTestFrame(k, 42, 0.2));
    expect(test.length / keys.length).toBeGreaterThan(0.17);
    expect(test.length / keys.length).toBeLessThan(0.23);
    expect(keys.filter((k) => isTestFrame(k, 42, 0.2))).toEqual(test);
    expect(keys.filter((k) => isTestFrame(k, 7, 0.2))).not.toEqual(test);
  });

  it('keeps every frame on its side when the dataset grows', () => {
    const first = splitByHash(rowsOf('d', 500), 42, 0.2);
    const grown = splitByHash(rowsOf('d', 550), 42, 0.2);
    const testKeys = new Set(grown.test.map((r) => r.imageKey));
    expect(first.test.every((r) => testKeys.has(r.imageKey))).toBe(true);
    expect(first.train.some((r) => testKeys.has(r.imageKey))).toBe(false);
  });

  it('keeps a frame in each split of a tiny dataset', () => {
    for (const fraction of [0.0001, 0.9999]) {
      const { train, test } = splitByHash(rowsOf('d', 3), 1, fraction);
      expect(train.length).toBeGreaterThan(0);
      expect(test.length).toBeGreaterThan(0);
      expect(train.length + test.length).toBe(3);
    }
  });
});

describe('dataset policies', () => {
  const rows = [...rowsOf('a', 30), ...rowsOf('b', 5, 100)].sort((x, y) => x.time - y.time);

  it('all keeps every record', () => {
    expect(selectRows(rows, { kind: 'all' })).toEqual(rows);
  });

  it('last keeps the newest N of each deployment, in time order', () => {
    const kept = selectRows(rows, { kind: 'last', perDeployment: 10 });
    expect(kept.filter((r) => r.deployment === 'a').map((r) => r.time)).toEqual(Array.from({ length: 10 }, (_, i) => 20 + i));
    expect(kept.filter((r) => r.deployment === 'b')).toHaveLength(5);
  });

  it('reservoir keeps N per deployment, and a kept frame stays unless a new frame displaces it', () => {
    const policy = { kind: 'reservoir' as const, perDeployment: 10, seed: 5 };
    const before = selectRows(rows, policy).filter((r) => r.deployment === 'a');
    expect(before).toHaveLength(10);
    const grown = [...rows, ...rowsOf('a', 3, 1000)];
    const after = selectRows(grown, policy).filter((r) => r.deployment === 'a');
    expect(after).toHaveLength(10);
    const afterKeys = new Set(after.map((r) => r.imageKey));
    const dropped = before.filter((r) => !afterKeys.has(r.imageKey));
    const entered = after.filter((r) => r.time >= 1000);
    expect(dropped).toHaveLength(entered.length);
    // Whatever left was displaced by a newcomer ranked before it.
    for (const r of dropped) expect(entered.every((e) => frameHash(e.imageKey, 5) < frameHash(r.imageKey, 5))).toBe(true);
  });
});

describe('pack ranges', () => {
  it('compress sorted positions into [start, end) runs', () => {
    expect(rangesOf([0, 1, 2, 5, 6, 9])).toEqual([
      [0, 3],
      [5, 7],
      [9, 10],
    ]);
    expect(rangesOf([])).toEqual([]);
  });
});

describe('the training config', () => {
  it('takes a dataset policy and refuses a malformed one', () => {
    const ok = (datasetPolicy: unknown) => trainingConfigSchema.safeParse({ datasetPolicy }).success;
    expect(ok({ kind: 'all' })).toBe(true);
    expect(ok({ kind: 'last', perDeployment: 500 })).toBe(true);
    expect(ok({ kind: 'reservoir', perDeployment: 500, seed: 7 })).toBe(true);
    expect(ok({ kind: 'reservoir', perDeployment: 500 })).toBe(false);
    expect(ok({ kind: 'last', perDeployment: 0 })).toBe(false);
    expect(ok({ kind: 'newest' })).toBe(false);
    expect(ok({ kind: 'all', perDeployment: 5 })).toBe(false);
  });
});
