import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../core/ml/architectures.js';
import { loadBackend } from '../../core/ml/backend.js';
import { deserializeModel, getModelFiles, putModel, serializeModel } from '../../core/ml/modelArtifact.js';
import { TrialCheckpoints } from '../../core/ml/trialCheckpoints.js';
import { FolderObjects } from '../../core/stores/folderObjects.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-checkpoints-'));
const objects = new FolderObjects(dir);
const meta = { architecture: 'compact', width: 16, height: 12, labelMaxMm: 350, backend: 'test' };

describe('trial checkpoints', () => {
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('point at the newest whole checkpoint, keep only it, and survive a write cut short', async () => {
    const { tf } = await loadBackend('auto');
    const model = buildModel(tf, 'compact', { width: 16, height: 12, dropout: 0.1, learningRate: 0.001, seed: 1 });
    const saved = await serializeModel(tf, model, meta);
    const checkpoints = new TrialCheckpoints(objects, 'runs/w/r/trials/0');
    expect(await checkpoints.latest()).toBeUndefined();

    await checkpoints.save(1, saved);
    const second = await checkpoints.save(2, saved);
    expect(await objects.list('runs/w/r/trials/0/checkpoint')).toEqual([
      'runs/w/r/trials/0/checkpoint/epoch-0002/model.json',
      'runs/w/r/trials/0/checkpoint/epoch-0002/weights.bin',
      'runs/w/r/trials/0/checkpoint/latest.json',
    ]);

    // The process dies after writing epoch 3's files but before moving the pointer: epoch 2 is still whole.
    await putModel(objects, 'runs/w/r/trials/0/checkpoint/epoch-0003', saved);
    const afterCrash = await new TrialCheckpoints(objects, 'runs/w/r/trials/0').latest();
    expect(afterCrash).toEqual(second);
    expect((await getModelFiles(objects, afterCrash!.prefix)).sha256).toBe(saved.sha256);
  });

  it('carry Adam state when saved with the optimizer, so a resumed trial continues rather than restarts it', async () => {
    const { tf } = await loadBackend('auto');
    const model = buildModel(tf, 'compact', { width: 16, height: 12, dropout: 0.1, learningRate: 0.003, seed: 2 });
    await model.fit(tf.randomUniform([16, 12, 16, 3], 0, 1, 'float32', 3), tf.randomUniform([16, 1], 0, 1, 'float32', 4), {
      epochs: 2,
      batchSize: 8,
      verbose: 0,
    });
    const withOptimizer = await serializeModel(tf, model, meta, { includeOptimizer: true });
    const restored = (await deserializeModel(tf, withOptimizer.modelJson, withOptimizer.weights)).model;
    expect(restored.optimizer?.getClassName()).toBe('Adam');
    const state = async (m: typeof model) =>
      Promise.all((await m.optimizer.getWeights()).map(async (w) => Array.from(await w.tensor.data())));
    expect(await state(restored)).toEqual(await state(model));

    const withoutOptimizer = await serializeModel(tf, model, meta);
    expect((await deserializeModel(tf, withoutOptimizer.modelJson, withoutOptimizer.weights)).model.optimizer).toBeFalsy();
  });
});
