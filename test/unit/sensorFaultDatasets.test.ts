import { MockActivityEnvironment } from '@temporalio/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assembleDataset, type AssembleDatasetResult } from '../../activities/assembleDataset.js';
import type { ActivityContext } from '../../activities/context.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';
import { readRecordRows } from '../../core/ml/datasetRecords.js';
import type { InferenceRecord } from '../../core/stores/measurements.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';

const zeros = Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f) => [f, 0])) as ImageCharacteristics;
const T0 = Date.UTC(2026, 0, 1);
const iso = (time: number) => new Date(time).toISOString();

/** Training sets leave out a suspect laser's frames from its fault's onset until it was cleared. */
describe("a suspect rover's frames in training sets", () => {
  let t: TempStores;
  let ctx: ActivityContext;
  const env = new MockActivityEnvironment();
  let runs = 0;
  const assemble = () =>
    env.run(assembleDataset(ctx), { workflowId: 'wf', runId: `r${++runs}`, deployments: ['d1'] }) as Promise<AssembleDatasetResult>;
  const rowsOf = async (assembled: AssembleDatasetResult) => (await readRecordRows(t.stores.objects, assembled.datasetKey)).rows;
  /** Frame i of each rover at T0 + i s; its label says whose it is. */
  const frames = (from: number, to: number): InferenceRecord[] =>
    ['a', 'b', 'c'].flatMap((client, k) =>
      Array.from({ length: to - from }, (_, j) => {
        const i = from + j;
        return {
          time: T0 + i * 1000,
          deployment: 'd1',
          client,
          modelName: null,
          modelVersion: null,
          prediction: null,
          sensorValue: 100 * (k + 1),
          error: null,
          latencyMs: 1,
          imageKey: `features/d1/${client}-${i}.jpg`,
          characteristics: zeros,
        };
      }),
    );
  const count = (rows: { client?: string }[], client: string) => rows.filter((r) => r.client === client).length;

  beforeEach(async () => {
    t = await openTempStores();
    ctx = { stores: t.stores } as ActivityContext;
    await t.stores.measurements.write(frames(0, 10));
  });
  afterEach(async () => t.cleanup());

  it('drops the frames inside a fault flagged after an earlier assembly kept them, and keeps the rest', async () => {
    const first = await assemble();
    expect(first.recordCount).toBe(30);
    // Rover b's laser went wrong at frame 4; the check noticed later, after the first training set was assembled.
    await t.stores.registry.flagSensorFault({
      client: 'b',
      deployment: 'd1',
      kinds: ['stuck'],
      evidence: {},
      summary: 'stuck',
      since: iso(T0 + 4000),
    });
    await t.stores.measurements.write(frames(10, 12));
    const second = await assemble();
    const rows = await rowsOf(second);
    expect([count(rows, 'a'), count(rows, 'b'), count(rows, 'c')]).toEqual([12, 4, 12]);
    expect(rows.filter((r) => r.client === 'b').every((r) => r.time < T0 + 4000)).toBe(true);
    expect(second.recordCount).toBe(28);
    expect(second.perDeployment).toEqual({ d1: 28 });
    // The first training set is as it was.
    expect(await rowsOf(first)).toHaveLength(30);
  });

  it('takes the frames after a fault was cleared back in', async () => {
    const { fault } = await t.stores.registry.flagSensorFault({
      client: 'b',
      deployment: 'd1',
      kinds: ['spikes'],
      evidence: {},
      summary: 'spikes',
      since: iso(T0 + 2000),
    });
    await t.stores.registry.clearSensorFault(fault.id, { by: 'operator', reason: 'cable fixed' });
    // Cleared "now" (after every frame): frames 2..9 of b stay out; frames sent after the clearing count again.
    const later = Date.now() + 60_000;
    await t.stores.measurements.write([{ ...frames(0, 1)[1], time: later, imageKey: 'features/d1/b-later.jpg' }]);
    const rows = await rowsOf(await assemble());
    expect(rows.filter((r) => r.client === 'b').map((r) => r.time)).toEqual([T0, T0 + 1000, later]);
  });
});
