import { MockActivityEnvironment } from '@temporalio/testing';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleDataset, type AssembleDatasetResult } from '../../activities/assembleDataset.js';
import { referenceProfileOf } from '../../core/drift/referenceProfile.js';
import type { ImageCharacteristics } from '../../core/features/fields.js';
import { readRecordRows } from '../../core/ml/datasetRecords.js';
import { readingStatus } from '../../core/sensors/laserSpec.js';
import type { InferenceRecord } from '../../core/stores/measurements.js';
import { DETECTOR_OF, type LaserFault } from '../../edge/laserFaults.js';
import { FLEET_PHASES, simulateDeployment, type FleetPhase, type SimulatedFrame, type SimulatedRover } from '../../edge/simulatedFleet.js';
import { createOrchestrationWorker } from '../../workers/createWorkers.js';
import type { CheckDriftResult, DeploymentCheck } from '../../workflows/checkDrift/contract.js';
import { TASK_QUEUES, WORKFLOW_TYPES } from '../../workflows/shared.js';
import { trainWorkflowIdFor } from '../../workflows/trainAndRegister/contract.js';
import { adminCall, attachReferenceProfile, registerUntrainedVersion, startApi, type ApiHarness } from '../support/apiHarness.js';
import { startTemporal } from '../support/temporalEnv.js';
import { storeFrames } from '../support/storeFrames.js';

const MODEL = 'distance';
/** Each rover's healthy frames before the fault (4 minutes at 4 frames/s): the check reads the last 5 minutes. */
const HEALTHY_FRAMES = 960;
/**
 * One deployment of three rovers per fault, the fault on rover-2 for the stated frames before the check (the
 * detectors' own test states the same numbers: test/unit/sensorHealth.test.ts).
 */
const FAULTS: { deployment: string; fault: LaserFault; frames: number }[] = [
  { deployment: 'offset', fault: { kind: 'offset', mm: 20 }, frames: 60 },
  { deployment: 'scale', fault: { kind: 'scale', factor: 1.15 }, frames: 200 },
  { deployment: 'stuck', fault: { kind: 'stuck' }, frames: 40 },
  { deployment: 'dropouts', fault: { kind: 'dropouts', rate: 0.3 }, frames: 60 },
  { deployment: 'spikes', fault: { kind: 'spikes', rate: 0.1 }, frames: 100 },
  { deployment: 'error-codes', fault: { kind: 'error-codes', rate: 0.2 }, frames: 40 },
  { deployment: 'out-of-range', fault: { kind: 'out-of-range', rate: 0.2 }, frames: 40 },
];
/** Every rover alike: the world changed, not a sensor (a label shift and an unseen floor). */
const SHIFTS: { deployment: string; phase: FleetPhase }[] = [
  { deployment: 'label-shift', phase: FLEET_PHASES['beige-350'] },
  { deployment: 'green-floor', phase: FLEET_PHASES['green-350'] },
];
const rovers = (faulty: Partial<SimulatedRover> = {}): SimulatedRover[] => [
  { client: 'rover-1' },
  { client: 'rover-2', ...faulty },
  { client: 'rover-3' },
];

/** Simulated frames as the API stores them, the newest a second ago: invalid readings marked, with no error. */
function recordsOf(deployment: string, frames: SimulatedFrame[]): InferenceRecord[] {
  const shift = Date.now() - 1000 - Math.max(...frames.map((f) => f.time));
  return frames.map((f, i) => {
    const status = readingStatus(f.sensorValue);
    const invalid = status === 'error-code' || status === 'out-of-range';
    return {
      time: f.time + shift,
      deployment,
      client: f.client,
      modelName: MODEL,
      modelVersion: 1,
      prediction: f.prediction,
      sensorValue: f.sensorValue,
      error: f.prediction !== null && f.sensorValue !== null && !invalid ? Math.abs(f.prediction - f.sensorValue) : null,
      latencyMs: 5,
      imageKey: `features/${deployment}/${f.client}-${i}.jpg`,
      characteristics: f.features as ImageCharacteristics,
      ...(invalid ? { sensorStatus: status } : {}),
    };
  });
}

/**
 * Sensor faults through the system on a real Temporal dev server, the orchestration worker and the API: one rover of
 * three with a faulty laser is flagged, its frames leave the drift check and the next training set, and no retrain is
 * asked; the same shift on every rover is still drift and asks one; an operator clears a fault through the API.
 */
describe('sensor faults', () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;
  let worker: Worker;
  let running: Promise<void>;
  let result: CheckDriftResult;
  const checkOf = (deployment: string): DeploymentCheck => result.checks.find((c) => c.deployment === deployment)!;
  const admin = (method: string, route: string, body?: unknown) => adminCall(api.url, method, route, body);
  const faultyFrames = new Map<string, SimulatedFrame[]>();

  beforeAll(async () => {
    env = await startTemporal();
    api = await startApi(async () => env.client);
    const { stores } = api;
    const deployments = ['healthy', ...FAULTS.map((f) => f.deployment), ...SHIFTS.map((s) => s.deployment)];
    for (const id of deployments) expect((await admin('POST', '/deployments', { id, modelName: MODEL })).status).toBe(201);
    for (const client of ['rover-1', 'rover-2', 'rover-3'])
      expect((await admin('POST', '/clients', { id: `stuck-${client}`, deploymentId: 'stuck' })).status).toBe(201);

    // The serving version learned the control phase: its reference is a control run of other rovers.
    const version = await registerUntrainedVersion(stores, MODEL, 'run-1');
    const learned = simulateDeployment({ rovers: rovers(), frames: 1500, seed: 99 }).filter((f) => f.sensorValue !== null);
    const profile = referenceProfileOf({
      modelName: MODEL,
      version: version.version,
      source: { manifestKey: 'runs/test/dataset/manifest.json', workflowId: 'test', runId: 'run-1' },
      rows: learned.map((f) => ({ sensorValue: f.sensorValue!, characteristics: f.features })),
      labelMaxMm: 350,
      testErrorsMm: learned.slice(0, 800).map((f) => Math.abs(f.prediction! - f.sensorValue!)),
    });
    await attachReferenceProfile(stores, profile);
    // Set in the registry, not through the API: no schedule, the test runs the monitor's checks itself.
    await stores.registry.setTrainingConfig(MODEL, { deployments: ['healthy'], width: 20, height: 15 });

    await storeFrames(stores, recordsOf('healthy', simulateDeployment({ rovers: rovers(), frames: HEALTHY_FRAMES + 100, seed: 3 })));
    for (const [i, { deployment, fault, frames }] of FAULTS.entries()) {
      const simulated = simulateDeployment({
        rovers: rovers({ fault, faultFromFrame: HEALTHY_FRAMES }),
        frames: HEALTHY_FRAMES + frames,
        seed: 10 + i,
      });
      const records = recordsOf(deployment, simulated);
      faultyFrames.set(
        deployment,
        simulated.map((f, j) => ({ ...f, time: records[j].time })).filter((f) => f.faulty),
      );
      await storeFrames(stores, records);
    }
    for (const [i, { deployment, phase }] of SHIFTS.entries())
      await storeFrames(
        stores,
        recordsOf(deployment, simulateDeployment({ rovers: rovers(), frames: HEALTHY_FRAMES + 100, phase, seed: 30 + i })),
      );

    worker = await createOrchestrationWorker({
      connection: env.nativeConnection,
      namespace: 'default',
      context: {
        stores,
        objectsUrl: '',
        mlBackend: 'auto',
        temporal: { client: async () => env.client, ui: { url: 'http://localhost:8233', namespace: 'default' } },
      },
    });
    running = worker.run();
    result = await env.client.workflow.execute(WORKFLOW_TYPES.checkDrift, {
      args: [{ modelName: MODEL }],
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `test-check-drift-${Date.now()}`,
    });
  });

  afterAll(async () => {
    worker?.shutdown();
    await running?.catch(() => undefined);
    await api?.close();
    await env?.teardown();
  });

  it.each(FAULTS)(
    'flags rover-2 of $deployment ($fault.kind) within $frames frames, a sensor-fault verdict that asks nothing',
    ({ deployment, fault }) => {
      const check = checkOf(deployment);
      expect(check.verdict).toBe('sensor-fault');
      expect(check.ask).toBeUndefined();
      expect(check.sensors?.suspects.map((s) => s.client)).toEqual(['rover-2']);
      expect(check.sensors?.suspects[0].kinds).toContain(DETECTOR_OF[fault.kind]);
      expect(check.sensors?.flagged).toHaveLength(1);
      expect(check.summary).toMatch(/^SENSOR FAULT: rover-2/);
    },
  );

  it('leaves healthy rovers and a whole deployment in one world alone: no flag on any healthy rover', () => {
    const isFaulty = (deployment: string, client: string) => client === 'rover-2' && FAULTS.some((f) => f.deployment === deployment);
    let healthyRovers = 0;
    const falseFlags: string[] = [];
    for (const { deployment, sensors } of result.checks) {
      healthyRovers += (sensors?.rovers ?? 0) - (FAULTS.some((f) => f.deployment === deployment) ? 1 : 0);
      for (const s of sensors?.suspects ?? []) if (!isFaulty(deployment, s.client)) falseFlags.push(`${deployment}/${s.client}`);
    }
    console.log(`[sensor faults] false flags: ${falseFlags.length} of ${healthyRovers} healthy rovers (one check of ~1000 frames each)`);
    expect(falseFlags).toEqual([]);
    expect(checkOf('healthy')).toMatchObject({ verdict: 'no-drift' });
  });

  it('still finds drift on every rover of a shifted deployment, and asks one retrain for each', async () => {
    for (const { deployment } of SHIFTS) {
      const check = checkOf(deployment);
      expect(check.sensors?.suspects).toEqual([]);
      expect(check.verdict).toBe('drift');
      expect(check.ask?.outcome).toMatch(/started|joined|duplicate/);
    }
    const requests = await api.stores.registry.listRetrainRequests({ modelName: MODEL, limit: 100 });
    const asked = requests.map((r) => (r.payload as { ask?: { deployment?: string } } | null)?.ask?.deployment);
    expect(asked.sort()).toEqual(SHIFTS.map((s) => s.deployment).sort());
    await env.client.workflow
      .getHandle(trainWorkflowIdFor(MODEL))
      .terminate('test: no training worker here')
      .catch(() => undefined);
  });

  it("leaves the flagged rover's frames from the fault's onset out of the next training set", async () => {
    const assemble = new MockActivityEnvironment();
    for (const { deployment } of FAULTS) {
      const assembled = (await assemble.run(assembleDataset({ stores: api.stores } as never), {
        workflowId: 'wf',
        runId: `assemble-${deployment}`,
        deployments: [deployment],
      })) as AssembleDatasetResult;
      const { rows } = await readRecordRows(api.stores.objects, assembled.datasetKey);
      const [fault] = await api.stores.registry.listSensorFaults({ deployment, open: true });
      const since = Date.parse(fault.since);
      const keys = new Set(rows.map((r) => r.imageKey));
      // Every frame from the estimated onset is gone; the onset is within a few frames of the fault's first (spikes:
      // the first spike, a random number of frames later), whose frames before it stay.
      const kept = rows.filter((r) => r.client === 'rover-2' && r.time >= faultyFrames.get(deployment)![0].time).length;
      console.log(`[sensor faults] ${deployment}: ${kept} frames of the fault before its estimated onset stay in the training set`);
      expect(kept).toBeLessThanOrEqual(25);
      expect(rows.filter((r) => r.client === 'rover-2' && r.time >= since)).toEqual([]);
      // ...and the other rovers' frames all stay.
      expect(rows.filter((r) => r.client !== 'rover-2').length).toBe(
        (await api.stores.measurements.datasetRows([deployment])).filter((r) => r.client !== 'rover-2').length,
      );
      expect(keys.size).toBe(rows.length);
      expect(assembled.excludedRecords).toBeGreaterThan(0);
    }
  });

  it('lists the faults, shows the rovers of a deployment, and lets an operator clear one once', async () => {
    const listed = await admin('GET', '/sensor-faults?open=true');
    expect(listed.status).toBe(200);
    expect(listed.body.faults.map((f: { deployment: string }) => f.deployment).sort()).toEqual(FAULTS.map((f) => f.deployment).sort());
    const sensors = await admin('GET', '/deployments/stuck/sensors');
    expect(sensors.status).toBe(200);
    expect(sensors.body.rovers.map((r: { client: string; status: string }) => [r.client, r.status])).toEqual([
      // rover-2 sent frames here and has a fault; the registered rovers have none.
      ['rover-2', 'suspect'],
      ['stuck-rover-1', 'healthy'],
      ['stuck-rover-2', 'healthy'],
      ['stuck-rover-3', 'healthy'],
    ]);
    const fault = sensors.body.rovers[0].fault;
    // The fleet page marks the deployment; the frames list marks the suspect rover's frames and invalid readings.
    const fleet = await admin('GET', '/fleet?limit=200');
    const rowOf = (id: string) => fleet.body.deployments.find((d: { id: string }) => d.id === id);
    expect(rowOf('stuck').suspectRovers).toEqual(['rover-2']);
    expect(rowOf('healthy').suspectRovers).toEqual([]);
    const frames = (await admin('GET', '/deployments/stuck/frames?limit=30')).body.frames as { client: string; suspect: boolean }[];
    expect(frames.filter((f) => f.client === 'rover-2').length).toBeGreaterThan(0);
    for (const f of frames) expect(f.suspect).toBe(f.client === 'rover-2');
    const invalid = (await admin('GET', '/deployments/error-codes/frames?limit=200')).body.frames as { sensorStatus: string | null }[];
    expect(invalid.some((f) => f.sensorStatus === 'error-code')).toBe(true);
    expect(fault).toMatchObject({ client: 'rover-2', kinds: expect.arrayContaining(['stuck']), clearedAt: null });

    expect((await admin('POST', `/sensor-faults/${fault.id}/clear`, {})).status).toBe(400);
    const cleared = await admin('POST', `/sensor-faults/${fault.id}/clear`, { reason: 'cable reseated' });
    expect(cleared.status).toBe(200);
    expect(cleared.body.fault).toMatchObject({ id: fault.id, clearedBy: 'admin', clearReason: 'cable reseated' });
    expect(await admin('POST', `/sensor-faults/${fault.id}/clear`, { reason: 'again' })).toMatchObject({
      status: 409,
      body: { error: { code: 'already_cleared' } },
    });
    expect((await admin('POST', '/sensor-faults/999999/clear', { reason: 'x' })).status).toBe(404);
    expect((await admin('GET', '/deployments/stuck/sensors')).body.rovers[0]).toMatchObject({ client: 'rover-2', status: 'healthy' });
    expect((await admin('GET', '/deployments/nope/sensors')).status).toBe(404);

    // The next check judges the cleared rover on what it sent since the clearing: its old frames do not flag it again.
    const again: CheckDriftResult = await env.client.workflow.execute(WORKFLOW_TYPES.checkDrift, {
      args: [{ modelName: MODEL }],
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `test-check-drift-again-${Date.now()}`,
    });
    const stuck = again.checks.find((c) => c.deployment === 'stuck')!;
    expect(stuck.sensors?.suspects).toEqual([]);
    expect(stuck.verdict).toBe('no-drift');
    // The other faults stay open, updated, not opened anew.
    const spikes = again.checks.find((c) => c.deployment === 'spikes')!;
    expect(spikes.sensors).toMatchObject({ flagged: [], suspects: [expect.objectContaining({ client: 'rover-2' })] });
  });
});
