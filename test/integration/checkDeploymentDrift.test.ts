import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDeploymentDrift } from '../../activities/checkDeploymentDrift.js';
import { referenceProfileOf } from '../../core/drift/referenceProfile.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';
import { sha256 } from '../../core/ml/dataset.js';
import { createRng } from '../../core/random.js';
import { referenceProfileKey } from '../../core/stores/objectKeys.js';
import { registerUntrainedVersion } from '../support/apiHarness.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';

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
      driftWindow: () => Promise.reject(new Error('connect ECONNREFUSED')),
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
