import { describe, expect, it } from 'vitest';
import { selectBestTrial, sweepCombinations, type TrialSummary } from '../../core/training/sweep.js';
import { trainingConfigSchema } from '../../api/routes/admin.js';
import { resolveRequest } from '../../workflows/trainAndRegister/contract.js';
import { DEFAULT_TRAINING } from '../../core/training/trainingConfig.js';

const trial = (trialId: string, metrics: Record<string, number>): TrialSummary => ({
  trialId,
  params: { epochs: 1, batchSize: 32, dropout: 0.1, learningRate: 0.001 },
  metrics,
  artifactKey: `k/${trialId}`,
  artifactSha256: 'x',
});

describe('sweep combinations', () => {
  it('is the full cross product in a stable order', () => {
    const combos = sweepCombinations({ epochs: [10, 20], batchSizes: [32, 64, 128], dropouts: [0.1, 0.2], learningRates: [0.001] });
    expect(combos).toHaveLength(12);
    expect(combos[0]).toEqual({ epochs: 10, batchSize: 32, dropout: 0.1, learningRate: 0.001 });
    expect(combos[1]).toEqual({ epochs: 10, batchSize: 32, dropout: 0.2, learningRate: 0.001 });
    expect(combos[11]).toEqual({ epochs: 20, batchSize: 128, dropout: 0.2, learningRate: 0.001 });
    expect(new Set(combos.map((c) => JSON.stringify(c))).size).toBe(12);
  });
});

describe('best-run selection', () => {
  it('picks the lowest value of the configured metric', () => {
    const trials = [
      trial('a', { test_mae_mm: 9, test_rmse_mm: 10 }),
      trial('b', { test_mae_mm: 7, test_rmse_mm: 12 }),
      trial('c', { test_mae_mm: 8, test_rmse_mm: 9 }),
    ];
    expect(selectBestTrial(trials, 'test_mae_mm')?.trialId).toBe('b');
    expect(selectBestTrial(trials, 'test_rmse_mm')?.trialId).toBe('c');
  });

  it('skips trials whose metric is missing or not finite and keeps the earlier of a tie', () => {
    const trials = [
      trial('nan', { test_mae_mm: NaN }),
      trial('none', {}),
      trial('first', { test_mae_mm: 5 }),
      trial('second', { test_mae_mm: 5 }),
    ];
    expect(selectBestTrial(trials, 'test_mae_mm')?.trialId).toBe('first');
  });

  it('has no best trial when no trial reported the metric', () => {
    expect(selectBestTrial([trial('a', { loss: 1 })], 'test_mae_mm')).toBeUndefined();
  });
});

describe('request defaults', () => {
  it('fills every setting the request leaves out and keeps what it gives', () => {
    const r = resolveRequest({
      modelName: 'm',
      deployments: ['d'],
      trigger: { kind: 'manual', by: 't' },
      sweep: { epochs: [3] },
      width: 64,
    });
    expect(r.sweep).toEqual({ ...DEFAULT_TRAINING.sweep, epochs: [3] });
    expect(r.width).toBe(64);
    expect(r.height).toBe(DEFAULT_TRAINING.height);
    expect(r.registerPolicy).toBe('if-better');
    expect(r.reuseDataset).toBeUndefined();
  });
});

describe('the training budget switches', () => {
  const base = { modelName: 'm', deployments: [], trigger: { kind: 'manual' as const, by: 't' } };

  it('are off unless the config sets them; early stopping holds out a tenth of the training frames by default', () => {
    expect(resolveRequest(base)).toMatchObject({ earlyStopping: undefined, halving: undefined, warmStart: undefined });
    expect(resolveRequest({ ...base, earlyStopping: { patience: 3 }, halving: { rungEpochs: 4 }, warmStart: true })).toMatchObject({
      earlyStopping: { patience: 3, validationFraction: 0.1 },
      halving: { rungEpochs: 4 },
      warmStart: true,
    });
  });

  it('are validated where the training config is set', () => {
    const ok = (fields: unknown) => trainingConfigSchema.safeParse(fields).success;
    expect(ok({ earlyStopping: { patience: 3, validationFraction: 0.2 }, halving: { rungEpochs: 2 }, warmStart: false })).toBe(true);
    expect(ok({ earlyStopping: { patience: 0 } })).toBe(false);
    expect(ok({ earlyStopping: { patience: 3, validationFraction: 0.5 } })).toBe(false);
    expect(ok({ earlyStopping: { patience: 3, extra: 1 } })).toBe(false);
    expect(ok({ halving: {} })).toBe(false);
    expect(ok({ warmStart: 'yes' })).toBe(false);
  });
});
