import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowsPath } from '../../workers/createWorkers.js';

const dir = 'test/fixtures/histories';
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));

/** Recorded TrainAndRegister, CheckDrift (from the demo) and Rollout (from test/integration/rollout.test.ts; ab and bandit from rolloutStrategies.workflow.test.ts) histories replayed against the current workflow code. */
describe('workflow replay', () => {
  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  it.each(files)('%s replays deterministically', async (file) => {
    const history = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    await expect(Worker.runReplayHistory({ workflowsPath }, history)).resolves.toBeUndefined();
  });
});
