import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { type Client, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRollouts } from '../../../activities/startRollouts.js';
import type { TrialProgress } from '../../../core/ml/trialRunner.js';
import { rolloutPolicySchema } from '../../../core/rollout/rolloutPolicy.js';
import { closeStores, type Stores } from '../../../core/stores/index.js';
import { rolloutWorkflowIdFor, type RolloutResult } from '../../../workflows/rollout/contract.js';
import { TASK_QUEUES } from '../../../workflows/shared.js';
import { TrainAndRegister } from '../../../workflows/trainAndRegister/workflow.js';
import { registerUntrainedVersion } from '../../support/apiHarness.js';
import { eventually } from '../../support/eventually.js';
import { openTopologyStores, topologyTemporal } from '../../support/fleetClient.js';
import { createRovers, FleetDrive } from '../../support/fleetRovers.js';
import { storeLabelledFrames, syntheticFrame } from '../../support/syntheticFrames.js';
import { startTopology, topologyAvailable, type AppProcess, type Topology } from '../../support/topology.js';

const EPOCHS = 20;
/** Stages that decide within seconds: few frames, no minimum time, a look every second. */
const FAST = rolloutPolicySchema.parse({
  canaryShare: 0.25,
  shadow: { minFrames: 40, minMinutes: 0, maxMinutes: 5 },
  canary: { minFrames: 40, minMinutes: 0, maxMinutes: 5 },
  checkSeconds: 1,
});

/**
 * Two worker processes on Temporal's real server; one is killed with SIGKILL mid-run (as the OOM killer or a lost
 * node would), and the other must finish the run: one version registered, one serving change. First mid-sweep (the
 * killed worker was training a trial), then mid-rollout (the killed worker held the rollout's workflow).
 */
describe.runIf(topologyAvailable())('a worker killed mid-run', () => {
  let topology: Topology;
  let stores: Stores;
  let temporal: Awaited<ReturnType<typeof topologyTemporal>>;
  let client: Client;

  beforeAll(async () => {
    const started = Date.now();
    topology = await startTopology({ name: 'worker-failures', env: { REGISTRY_CACHE_TTL_MS: '500' } });
    console.log(`[workers] topology ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    stores = await openTopologyStores(topology.env);
    temporal = await topologyTemporal(topology.env);
    client = temporal.client;
  });

  afterAll(async () => {
    await temporal?.close();
    if (stores) await closeStores(stores);
    await topology?.close();
  });

  /** The topology's worker whose process has this Temporal identity (`pid@host`). */
  function workerOf(identity: string): AppProcess {
    const worker = topology.workers.find((w) => `${w.pid()}@${os.hostname()}` === identity);
    if (!worker) throw new Error(`no running worker has the identity ${identity}`);
    return worker;
  }

  /** The identity of the worker that completed the run's newest workflow task (holding it in its cache). */
  async function workflowHolder(handle: WorkflowHandle): Promise<string> {
    const history = await handle.fetchHistory();
    const completed = history.events!.filter((e) => e.workflowTaskCompletedEventAttributes).at(-1);
    return completed!.workflowTaskCompletedEventAttributes!.identity!;
  }

  /** Serving changes of a deployment, oldest first. */
  const historyOf = async (deployment: string) => (await stores.registry.servingHistory(deployment)).reverse();

  it('finishes the sweep on the other worker when the one training a trial is killed', async () => {
    await stores.registry.createDeployment({ id: 'd', modelName: 'swept', modelVersion: 'latest', strategy: 'direct' });
    await storeLabelledFrames(stores, 120);
    const handle = await client.workflow.start(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `sweep-kill-${randomUUID()}`,
      args: [
        {
          modelName: 'swept',
          deployments: ['d'],
          trigger: { kind: 'manual', by: 'test' },
          width: 32,
          height: 24,
          sweep: { epochs: [EPOCHS], batchSizes: [8], dropouts: [0.1, 0.2] },
          registerPolicy: 'always',
        },
      ],
    });
    // A trial has a checkpointed epoch on the server: its worker is killed mid-trial.
    const training = await eventually(
      async () => {
        const pending = (await handle.describe()).raw.pendingActivities?.filter((a) => a.activityType?.name === 'trainTrial') ?? [];
        const mid = pending.find((a) => {
          const payload = a.heartbeatDetails?.payloads?.[0];
          const progress = payload ? defaultPayloadConverter.fromPayload<TrialProgress | undefined>(payload) : undefined;
          return (progress?.epoch ?? 0) >= 1 && (progress?.epoch ?? EPOCHS) < EPOCHS;
        });
        expect(mid, 'a trial past its first epoch').toBeDefined();
        return mid!;
      },
      { timeoutMs: 240_000, intervalMs: 250 },
    );
    const killed = workerOf(training.lastWorkerIdentity!);
    await killed.kill('SIGKILL');
    const killedAt = Date.now();
    console.log(`[workers] mid-sweep: killed ${killed.name} while it trained trial ${training.activityId} (attempt ${training.attempt})`);

    const result = await handle.result();
    const finishedSeconds = (Date.now() - killedAt) / 1000;
    await killed.start();
    const versions = await stores.registry.listModelVersions('swept');
    const changes = await historyOf('d');
    console.log(
      `[workers] mid-sweep: the run finished ${finishedSeconds.toFixed(1)} s after the kill; ${result.trials.length} trials, ` +
        `${versions.length} version(s) registered, serving history ${changes.map((c) => c.reason).join(', ')}`,
    );
    expect(result.trials).toHaveLength(2);
    expect(result.registration).toMatchObject({ registered: true, version: 1 });
    expect(versions.map((v) => v.version)).toEqual([1]);
    expect(changes.map((c) => [c.reason, c.toVersion])).toEqual([
      ['created', null],
      ['registration', 1],
    ]);
    // The trial the killed worker trained was tried again on the other one.
    const history = await handle.fetchHistory();
    const retried = history
      .events!.filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes!)
      .filter((s) => (s.attempt ?? 1) > 1);
    expect(retried.length).toBeGreaterThanOrEqual(1);
    expect(retried.every((s) => s.identity !== training.lastWorkerIdentity)).toBe(true);
  });

  it('finishes a rollout on the other worker when the one holding it is killed', async () => {
    const deployment = 'lot';
    await stores.registry.createDeployment({
      id: deployment,
      modelName: 'rolled',
      modelVersion: 'latest',
      strategy: 'shadow',
      rolloutPolicy: FAST,
    });
    const rovers = await createRovers(stores, deployment, 8);
    await registerUntrainedVersion(stores, 'rolled', 'rolled-v1', 150);
    await registerUntrainedVersion(stores, 'rolled', 'rolled-v2', 100);
    const [started] = await startRollouts({
      stores,
      objectsUrl: topology.env.OBJECTS_URL,
      mlBackend: 'auto',
      temporal: { client: async () => client, ui: { url: '', namespace: topology.env.TEMPORAL_NAMESPACE } },
    })({ modelName: 'rolled', version: 2 });
    expect(started).toMatchObject({ deploymentId: deployment });
    const handle = client.workflow.getHandle(rolloutWorkflowIdFor(deployment));

    // In its shadow stage, with a look taken: the worker that ran its newest workflow task is killed. No frame flows
    // yet, so the rollout cannot leave its shadow stage before the kill, however fast or slow the machine.
    await eventually(
      async () => {
        expect((await stores.registry.getDeployment(deployment))?.rollout?.stage).toBe('shadow');
        const looks = (await handle.fetchHistory()).events!.filter((e) => e.activityTaskCompletedEventAttributes).length;
        expect(looks).toBeGreaterThanOrEqual(3);
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const killed = workerOf(await workflowHolder(handle));
    await killed.kill('SIGKILL');
    const killedAt = Date.now();
    console.log(`[workers] mid-rollout: killed ${killed.name}, which held the rollout in its shadow stage`);

    // Rovers' laser reads 90-110 mm: v2 (100 mm) beats v1 (150 mm) on every frame.
    const jpeg = await syntheticFrame(100);
    let frame = 0;
    const drive = new FleetDrive(topology.url, rovers, jpeg, () => 90 + (frame++ % 21), 2);
    try {
      const result = (await handle.result()) as RolloutResult;
      const finishedSeconds = (Date.now() - killedAt) / 1000;
      await killed.start();
      const holder = await workflowHolder(handle);
      const changes = await historyOf(deployment);
      console.log(
        `[workers] mid-rollout: ${result.outcome} ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill ` +
          `(result in ${finishedSeconds.toFixed(1)} s), finished by ${topology.workers.find((w) => `${w.pid()}@${os.hostname()}` === holder)?.name ?? holder}; ` +
          `serving history ${changes.map((c) => c.reason).join(', ')}; answers ${JSON.stringify(drive.statusCounts())}`,
      );
      expect(result).toMatchObject({ outcome: 'promoted', candidateVersion: 2, currentVersion: 1 });
      expect(changes.map((c) => c.reason)).toEqual(['created', 'registration', 'rollout-shadow', 'rollout-canary', 'rollout-promoted']);
      expect(changes.filter((c) => c.kind === 'serving-change').map((c) => [c.reason, c.toVersion])).toEqual([
        ['created', null],
        ['registration', 1],
        ['rollout-promoted', 2],
      ]);
      expect((await stores.registry.listModelVersions('rolled')).map((v) => v.version)).toEqual([1, 2]);
      expect(await stores.registry.getDeployment(deployment)).toMatchObject({ currentVersion: 2, rollout: null });
    } finally {
      await drive.stop();
    }
  });
});
