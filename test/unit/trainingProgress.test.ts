import { describe, expect, it } from 'vitest';
import type { ApiCall } from '../../scripts/apiClient.js';
import { outcomeLine, progressLine, waitForTrainingRun } from '../../scripts/trainingProgress.js';
import type { TrainAndRegisterResult, TrainProgress } from '../../workflows/trainAndRegister/contract.js';

const progress = (p: Partial<TrainProgress>): TrainProgress => ({
  step: 'training',
  trialsDone: 0,
  trialsTotal: 4,
  coalescedRequests: 1,
  ...p,
});
const trial = (i: number, mae: number) => ({
  trialId: `run-1-t${i}`,
  params: { epochs: 30, batchSize: 32, dropout: 0.1, learningRate: 0.001 },
  metrics: { test_mae_mm: mae },
  artifactKey: `k${i}`,
  artifactSha256: 's',
});
const result = (registration: TrainAndRegisterResult['registration']) =>
  ({
    trials: [trial(0, 5.6), trial(1, 4.9)],
    selection: { best: trial(1, 4.9), ranking: [] },
    registration,
  }) as unknown as TrainAndRegisterResult;

describe('training progress lines', () => {
  it("say the step, the trials, each running trial's epoch and the best finished trial", () => {
    expect(progressLine({ progress: progress({ step: 'preprocessing' }) })).toBe('preprocessing: 0/4 trials done');
    expect(
      progressLine({
        progress: progress({ trialsDone: 2, best: { trialId: 'run-1-t1', metric: 'test_mae_mm', value: 4.93 } }),
        trialsTraining: [
          { epoch: 12, epochs: 30 },
          { epoch: null, epochs: null },
        ],
      }),
    ).toBe('training: 2/4 trials done; running: epoch 12/30, starting; best so far 4.93 mm test MAE (t1)');
    expect(progressLine({ progress: null })).toMatch(/no progress yet/);
  });

  it('end with the outcome: the version and its test error against the previous one, or why nothing was registered', () => {
    expect(
      outcomeLine(
        result({
          registered: true,
          version: 3,
          artifactKey: 'k',
          artifactSha256: 's',
          comparison: { previousVersion: 2, metrics: { test_mae_mm: 5.6 } },
        }),
      ),
    ).toBe(
      'registered v3: test MAE 4.90 mm vs 5.60 mm for v2 on the same test set (best of 2 trial(s): epochs 30, batchSize 32, dropout 0.1, learningRate 0.001)',
    );
    expect(outcomeLine(result({ registered: true, version: 1, artifactKey: 'k', artifactSha256: 's', comparison: null }))).toMatch(
      /^registered v1: test MAE 4.90 mm \(the first version\)/,
    );
    expect(outcomeLine(result({ registered: false, reason: 'test_mae_mm 4.90 does not beat version 2 (4.10)' }))).toMatch(
      /^not registered: test_mae_mm 4.90 does not beat version 2 \(4.10\)/,
    );
  });

  it('prints a line only when the progress changed, and follows a run that continued as new', async () => {
    const answers = [
      { status: 'RUNNING', progress: progress({ step: 'assembling' }) },
      { status: 'RUNNING', progress: progress({ step: 'assembling' }) },
      { status: 'RUNNING', progress: progress({}), trialsTraining: [{ epoch: 1, epochs: 30 }] },
      { status: 'CONTINUED_AS_NEW', continuedAs: { runId: 'run-2' } },
      { status: 'COMPLETED', result: { marker: true } },
    ];
    const calls: string[] = [];
    const api = (async (_method: string, path: string) => {
      calls.push(path);
      return answers.shift();
    }) as ApiCall;
    const lines: string[] = [];
    const done = await waitForTrainingRun(api, { workflowId: 'w', runId: 'run-1' }, { log: (l) => lines.push(l), pollMs: 1 });
    expect(done).toEqual({ marker: true });
    expect(lines).toEqual([
      'assembling: 0/4 trials done',
      'training: 0/4 trials done; running: epoch 1/30',
      'continued as run run-2 (asks that came after its dataset was assembled)',
    ]);
    expect(calls.at(-1)).toBe('/workflows/w/runs/run-2');
    // The best trial so far comes with the progress: one call per poll.
    expect(calls.every((path) => path.startsWith('/workflows/w/runs/'))).toBe(true);
  });
});
