import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDeploymentDrift } from '../../activities/checkDeploymentDrift.js';
import { checkDrift } from '../../core/drift/driftCheck.js';
import type { DriftCheckRecord } from '../../core/drift/driftReport.js';
import { monitorConfigSchema } from '../../core/drift/monitorConfig.js';
import { referenceProfileOf, type ReferenceProfile } from '../../core/drift/referenceProfile.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';
import { sha256 } from '../../core/ml/dataset.js';
import { createRng } from '../../core/random.js';
import { referenceProfileKey } from '../../core/stores/objectKeys.js';
import type { InferenceRecord } from '../../core/stores/measurements.js';
import { attachReferenceProfile, registerUntrainedVersion } from '../support/apiHarness.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';
import { storeFrames } from '../support/storeFrames.js';

const rng = createRng(3);
const characteristics = () =>
  Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f, i) => [f, i * 10 + rng.gaussian(50, 5)])) as ImageCharacteristics;

/** One check of one deployment on embedded stores: what it answers without a reference, and that a failing store never reports. */
describe('checkDeploymentDrift', () => {
  let temp: TempStores;
  const check = (deployment: string) =>
    checkDeploymentDrift({ stores: temp.stores, objectsUrl: '', mlBackend: 'auto' })({ modelName: 'distance', deployment });

  beforeAll(async () => {
    temp = await openTempStores();
    const { registry } = temp.stores;
    await registry.createDeployment({ id: 'latest', modelName: 'distance', modelVersion: 'latest', strategy: 'direct' });
    await registry.createDeployment({ id: 'other-model', modelName: 'speed', modelVersion: 'latest', strategy: 'direct' });
  });
  afterAll(async () => temp?.cleanup());

  it('answers no-reference, and records it, while the deployment serves no version', async () => {
    const found = await check('latest');
    expect(found).toMatchObject({ verdict: 'no-reference', deployment: 'latest', modelVersion: null, windowFrames: 0 });
    expect(found.summary).toMatch(/serves no version/);
    expect((await check('other-model')).summary).toMatch(/now serves model "speed"/);
    expect((await check('deleted')).summary).toMatch(/no longer exists/);
    expect((await temp.stores.measurements.driftChecks('latest')).map((c) => c.verdict)).toEqual(['no-reference']);
  });

  it('answers no-reference for a version registered before reference profiles', async () => {
    await registerUntrainedVersion(temp.stores, 'distance', 'run-1');
    expect(await check('latest')).toMatchObject({ verdict: 'no-reference', modelVersion: 1 });
  });

  it('checks against the profile once it is attached, insufficient with too few frames', async () => {
    const profile = referenceProfileOf({
      modelName: 'distance',
      version: 1,
      source: { manifestKey: 'm', workflowId: 'test', runId: 'run-1' },
      rows: Array.from({ length: 500 }, () => ({ sensorValue: rng.uniform(0, 250), characteristics: characteristics() })),
      labelMaxMm: 350,
      testErrorsMm: [1, 2, 3, 4, 5],
    });
    const body = Buffer.from(JSON.stringify(profile));
    await temp.stores.objects.put(referenceProfileKey('test', 'run-1'), body, 'application/json');
    await temp.stores.registry.attachReferenceProfile('distance', 1, { key: referenceProfileKey('test', 'run-1'), sha256: sha256(body) });
    expect(await check('latest')).toMatchObject({ verdict: 'insufficient-data', modelVersion: 1, windowFrames: 0 });
  });

  it('fails, and writes no verdict, when the measurement store fails: Temporal retries it, it never fires', async () => {
    const before = (await temp.stores.measurements.driftChecks('latest')).length;
    const { measurements } = temp.stores;
    const failing = Object.assign(Object.create(measurements), {
      driftSummaries: () => Promise.reject(new Error('connect ECONNREFUSED')),
    }) as typeof measurements;
    const activity = checkDeploymentDrift({ stores: { ...temp.stores, measurements: failing }, objectsUrl: '', mlBackend: 'auto' });
    await expect(activity({ modelName: 'distance', deployment: 'latest' })).rejects.toThrow(/ECONNREFUSED/);
    expect(await measurements.driftChecks('latest')).toHaveLength(before);
  });

  it('checks a deployment that rolls out against its current version, not the candidate registered after it', async () => {
    await temp.stores.registry.createDeployment({ id: 'rolling', modelName: 'distance', modelVersion: 'latest', strategy: 'canary' });
    await registerUntrainedVersion(temp.stores, 'distance', 'run-2');
    await temp.stores.registry.setRolloutStage('rolling', {
      candidateVersion: 2,
      stage: 'canary',
      canaryClients: [],
      workflowId: 'w',
      note: null,
    });
    expect(await check('rolling')).toMatchObject({ verdict: 'insufficient-data', modelVersion: 1 });
    expect(await check('latest')).toMatchObject({ verdict: 'no-reference', modelVersion: 2 });
  });
});

/** The same frames through the summaries however many writers counted them, and through the raw window. */
describe('checkDeploymentDrift on summaries', () => {
  let temp: TempStores;
  const now = Date.now();
  const framesOf = (deployment: string, count: number, centre: number): InferenceRecord[] =>
    Array.from({ length: count }, (_, i) => {
      // Rover 2 drives where the world moved (`centre`), and there the model errs more.
      const moved = i % 3 === 2 && centre !== 50;
      const sensorValue = rng.uniform(0, 250);
      const prediction = sensorValue + rng.gaussian(0, moved ? 20 : 5);
      return {
        time: now - 150_000 + i * 100,
        deployment,
        client: `rover-${i % 3}`,
        modelName: 'distance',
        modelVersion: 1,
        prediction,
        sensorValue,
        error: Math.abs(prediction - sensorValue),
        latencyMs: 5,
        imageKey: `features/${deployment}/${i}.jpg`,
        characteristics: Object.fromEntries(
          IMAGE_CHARACTERISTIC_FIELDS.map((f, k) => [f, k * 10 + rng.gaussian(moved ? centre : 50, 5)]),
        ) as ImageCharacteristics,
      };
    });
  const check = (deployment: string, suspects?: string[]) =>
    checkDeploymentDrift({ stores: temp.stores, objectsUrl: '', mlBackend: 'auto' })({
      modelName: 'distance',
      deployment,
      suspects: suspects?.map((client, fault) => ({ client, fault, kinds: ['stuck'], since: now - 600_000, summary: 'stuck' })),
    });
  /** Counts add exactly; sums of values added in another order differ in the last bits: compared to 10 significant digits. */
  const comparable = ({ time: _time, deployment: _deployment, ...rest }: DriftCheckRecord) =>
    JSON.parse(JSON.stringify(rest), (_key, value: unknown) =>
      typeof value === 'number' ? Number(value.toPrecision(10)) : value,
    ) as unknown;

  beforeAll(async () => {
    temp = await openTempStores();
    for (const id of ['one-writer', 'two-writers'])
      await temp.stores.registry.createDeployment({ id, modelName: 'distance', modelVersion: 'latest', strategy: 'direct' });
    await registerUntrainedVersion(temp.stores, 'distance', 'run-1');
    await attachReferenceProfile(
      temp.stores,
      referenceProfileOf({
        modelName: 'distance',
        version: 1,
        source: { manifestKey: 'm', workflowId: 'test', runId: 'run-1' },
        rows: Array.from({ length: 2000 }, () => ({ sensorValue: rng.uniform(0, 250), characteristics: characteristics() })),
        labelMaxMm: 350,
        testErrorsMm: Array.from({ length: 500 }, () => Math.abs(rng.gaussian(0, 5))),
      }),
    );
    // rover-2's frames moved: with it the deployment drifted, without it (a suspect laser) it did not.
    const frames = framesOf('one-writer', 1500, 90);
    await storeFrames(temp.stores, frames);
    const same = frames.map((f) => ({ ...f, deployment: 'two-writers', imageKey: f.imageKey.replace('one-writer', 'two-writers') }));
    // Two APIs, each with its share of the frames, both counting into the same minutes.
    await storeFrames(
      temp.stores,
      same.filter((_, i) => i % 2 === 0),
    );
    await storeFrames(
      temp.stores,
      same.filter((_, i) => i % 2 === 1),
    );
  });
  afterAll(async () => temp?.cleanup());

  it("merges two writers' partial summaries into the same check as one writer's", async () => {
    const one = await check('one-writer');
    const two = await check('two-writers');
    expect(one).toMatchObject({ verdict: 'drift', windowFrames: 1500 });
    expect(comparable(two)).toEqual(comparable(one));
    const rows = await temp.stores.measurements.driftSummaries({
      deployment: 'two-writers',
      modelName: 'distance',
      modelVersion: 1,
      since: 0,
    });
    // A writer's row of each minute is named after its process (the part before the dot).
    expect(new Set(rows.map((r) => r.writer.replace(/\.\d+$/, ''))).size).toBe(2);
    expect(rows.filter((r) => r.minute === rows[0].minute)).toHaveLength(2);
  });

  it('gives the verdicts and statistics of the raw window, with and without a suspect rover', async () => {
    const { profile, config } = { profile: await profileOfVersion(temp), config: monitorConfigSchema.parse({}) };
    for (const suspects of [undefined, ['rover-2']]) {
      const summary = await check('one-writer', suspects);
      const window = await temp.stores.measurements.driftWindow({
        deployment: 'one-writer',
        modelName: 'distance',
        modelVersion: 1,
        since: now - 300_000,
        maxFrames: config.windowMaxFrames,
        excludeClients: suspects,
      });
      const raw = checkDrift(profile, window, config);
      expect(summary.windowFrames).toBe(raw.windowFrames);
      expect(summary.kinds).toEqual(raw.kinds);
      expect(summary.covariate!.driftedFeatures).toEqual(raw.covariate!.driftedFeatures);
      for (const [field, evidence] of Object.entries(raw.covariate!.features))
        expect(Math.abs(summary.covariate!.features[field as 'hsv_s']!.ks - evidence.ks)).toBeLessThanOrEqual(0.002);
      expect(summary.performance!.liveMeanErrorMm).toBeCloseTo(raw.performance!.liveMeanErrorMm, 9);
    }
    expect((await check('one-writer', ['rover-2'])).verdict).toBe('sensor-fault');
  });
});

async function profileOfVersion(temp: TempStores) {
  const version = await temp.stores.registry.getModelVersion('distance', 1);
  return JSON.parse((await temp.stores.objects.get(version!.referenceProfile!.key)).toString('utf8')) as ReferenceProfile;
}
