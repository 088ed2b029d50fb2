import { describe, expect, it } from 'vitest';
import { trainingCapacity } from '../../core/ml/trainingCapacity.js';

describe('training capacity', () => {
  it('gives one slot per thread budget of the cores, never less than one', () => {
    expect(trainingCapacity({ cores: 2 })).toEqual({ cores: 2, slots: 2, threadsPerTrial: 1, source: 'cores' });
    expect(trainingCapacity({ cores: 8, threadsPerTrial: 3 })).toMatchObject({ slots: 2, threadsPerTrial: 3 });
    expect(trainingCapacity({ cores: 2, threadsPerTrial: 4 })).toMatchObject({ slots: 1, threadsPerTrial: 4 });
  });

  it('takes SWEEP_PARALLELISM as the slots and shares the cores among them', () => {
    expect(trainingCapacity({ cores: 8, sweepParallelism: 2 })).toEqual({
      cores: 8,
      slots: 2,
      threadsPerTrial: 4,
      source: 'SWEEP_PARALLELISM',
    });
    expect(trainingCapacity({ cores: 2, sweepParallelism: 4 })).toMatchObject({ slots: 4, threadsPerTrial: 1 });
    expect(trainingCapacity({ cores: 8, sweepParallelism: 2, threadsPerTrial: 1 })).toMatchObject({ slots: 2, threadsPerTrial: 1 });
  });
});
