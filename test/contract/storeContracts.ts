import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MONITOR_CONFIG } from '../../core/drift/monitorConfig.js';
import { DEFAULT_ROLLOUT_POLICY } from '../../core/rollout/rolloutPolicy.js';
import type { DriftCheckRecord } from '../../core/drift/driftReport.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';
import type { DriftSummaryRow, InferenceRecord, MeasurementStore } from '../../core/stores/measurements.js';
import { ObjectNotFoundError, type ObjectStore } from '../../core/stores/objects.js';
import type { NewModelVersion, RegistryStore } from '../../core/stores/registry.js';

/** What a suite can do to the server behind a store; embedded stores have none. */
export interface ServerControl {
  /** Restarts the real server, keeping its data, and returns once it answers again. */
  restart?: () => Promise<void>;
}

/**
 * One contract per store interface, run unchanged against every implementation:
 * SQLite, folder (embedded) and MySQL, InfluxDB, S3 (production).
 */
export function registryContract(name: string, open: () => Promise<RegistryStore>, server: ServerControl = {}) {
  describe(`RegistryStore contract: ${name}`, () => {
    const version = (modelName: string, runId: string): NewModelVersion => ({
      modelName,
      artifactKey: `runs/${runId}/model`,
      artifactSha256: 'a'.repeat(64),
      architecture: 'compact',
      metrics: { test_mae_mm: 5 },
      params: { epochs: 3 },
      trialId: `${runId}-t0`,
      workflowId: 'wf',
      runId,
      datasetKey: 'd',
      datasetSha256: 'b'.repeat(64),
      sourceDeployments: ['x'],
      recordCount: 10,
      comparison: null,
    });

    it('keeps clients and deployments, refuses duplicates and unknown references', async () => {
      const r = await open();
      const dep = `dep-${randomUUID().slice(0, 8)}`;
      const model = `m-${randomUUID().slice(0, 8)}`;
      await r.createDeployment({ id: dep, modelName: model, modelVersion: 'latest', strategy: 'direct' });
      await expect(r.createDeployment({ id: dep, modelName: model, modelVersion: 'latest', strategy: 'direct' })).rejects.toMatchObject({
        code: 'conflict',
      });
      const client = `c-${randomUUID().slice(0, 8)}`;
      await r.createClient({ id: client, name: 'Rover', tokenHash: 'h', deploymentId: dep });
      await expect(r.createClient({ id: client, name: 'Rover', tokenHash: 'h', deploymentId: null })).rejects.toMatchObject({
        code: 'conflict',
      });
      await expect(r.assignClient(client, 'no-such-deployment')).rejects.toMatchObject({ code: 'not_found' });
      expect(await r.assignClient('no-such-client', null)).toBe(false);
      await r.registerModelVersion(version(model, 'run-1'));
      await r.registerModelVersion(version(model, 'run-2'));
      expect((await r.updateDeployment(dep, { modelVersion: 2 }))?.modelVersion).toBe(2);
      expect(await r.deleteDeployment(dep)).toBe(true);
      expect((await r.getClient(client))?.deploymentId).toBeNull();
      expect(await r.deleteDeployment(dep)).toBe(false);
      await r.close();
    });

    it('numbers versions per model, is idempotent per run and safe under two concurrent writers', async () => {
      const [a, b] = [await open(), await open()];
      const model = `m-${randomUUID().slice(0, 8)}`;
      const runs = Array.from({ length: 6 }, (_, i) => `run-${i}`);
      const created = await Promise.all(runs.map((run, i) => (i % 2 ? a : b).registerModelVersion(version(model, run))));
      expect(created.map((v) => v.version).sort()).toEqual([1, 2, 3, 4, 5, 6]);
      const again = await a.registerModelVersion(version(model, 'run-3'));
      expect(again.version).toBe(created[3].version);
      expect((await b.getLatestModelVersion(model))?.version).toBe(6);
      expect(await a.getModelVersion(model, 99)).toBeUndefined();
      expect(again.referenceProfile).toBeNull();
      const profile = { key: `runs/w/${model}/reference-profile.json`, sha256: 'e'.repeat(64) };
      expect((await b.attachReferenceProfile(model, again.version, profile)).referenceProfile).toEqual(profile);
      expect((await a.getModelVersion(model, again.version))?.referenceProfile).toEqual(profile);
      await expect(a.attachReferenceProfile(model, 99, profile)).rejects.toThrow(/has no version 99/);
      await Promise.all([a.close(), b.close()]);
    });

    it('stores trials, training configs and retrain requests with alert dedupe', async () => {
      const r = await open();
      const model = `m-${randomUUID().slice(0, 8)}`;
      const trial = {
        id: `t-${randomUUID()}`,
        workflowId: 'wf',
        runId: 'r',
        modelName: model,
        params: { epochs: 2 },
        metrics: { test_mae_mm: 3 },
        history: { loss: [2, 1] },
        artifactKey: 'k',
        artifactSha256: 's',
        datasetKey: 'd',
      };
      await r.saveTrial(trial);
      await r.saveTrial({ ...trial, metrics: { test_mae_mm: 2 } });
      expect((await r.getTrial(trial.id))?.metrics).toEqual({ test_mae_mm: 2 });
      expect(await r.listTrials({ modelName: model })).toHaveLength(1);
      expect((await r.setTrainingConfig(model, { deployments: ['a'], sweep: { epochs: [1] } })).trainingConfig).toEqual({
        deployments: ['a'],
        sweep: { epochs: [1] },
      });
      expect((await r.getModel(model))?.monitorConfig).toBeNull();
      const monitor = {
        ...DEFAULT_MONITOR_CONFIG,
        intervalSeconds: 15,
        covariate: { minWasserstein: 2, minOutsideShare: 0.2, minDriftedShare: 0.5, retrainWhenErrorHolds: true },
      };
      expect((await r.setMonitorConfig(model, monitor)).monitorConfig).toEqual(monitor);
      // Null goes back to the defaults (DELETE /models/:name/monitor); set again for what follows.
      expect((await r.setMonitorConfig(model, null)).monitorConfig).toBeNull();
      await r.setMonitorConfig(model, monitor);
      expect((await r.getModel(model))?.trainingConfig).toEqual({ deployments: ['a'], sweep: { epochs: [1] } });
      const first = await r.recordRetrainRequest({ modelName: model, trigger: 'grafana', payload: { a: 1 }, dedupeKey: 'fp@t' });
      expect(first).toMatchObject({ request: { outcome: 'pending', dedupeKey: 'fp@t', duplicateOf: null } });
      expect(first.duplicateOf).toBeUndefined();
      const repeat = await r.recordRetrainRequest({ modelName: model, trigger: 'grafana', payload: {}, dedupeKey: 'fp@t' });
      expect(repeat).toMatchObject({
        request: { outcome: 'duplicate', dedupeKey: null, duplicateOf: first.request.id },
        duplicateOf: { id: first.request.id },
      });
      expect(await r.claimRetrainRequest(first.request.id, 60_000)).toBe(true);
      expect(await r.claimRetrainRequest(first.request.id, 60_000)).toBe(false);
      expect(await r.claimRetrainRequest(first.request.id, -1)).toBe(true);
      const settled = await r.settleRetrainRequest(first.request.id, {
        outcome: 'started',
        workflowId: 'w',
        runId: 'r',
        coverage: 'this-run',
      });
      expect(settled).toMatchObject({ outcome: 'started', workflowId: 'w', runId: 'r', coverage: 'this-run' });
      expect(await r.claimRetrainRequest(first.request.id, -1)).toBe(false);
      await r.settleRetrainRequest(first.request.id, { outcome: 'ignored', workflowId: null, runId: null, coverage: null });
      expect((await r.getRetrainRequest(first.request.id))?.outcome).toBe('started');
      expect((await r.listRetrainRequests({ modelName: model })).map((x) => x.payload)).toEqual([{ a: 1 }, {}]);
      expect((await r.listRetrainRequests({ modelName: model, outcome: 'duplicate' })).map((x) => x.id)).toEqual([repeat.request.id]);
      const manual = await r.recordRetrainRequest({ modelName: model, trigger: 'manual', payload: { b: 2 }, dedupeKey: null });
      expect((await r.listRetrainRequests({ modelName: model, trigger: 'manual' })).map((x) => x.id)).toEqual([manual.request.id]);
      expect(await r.listRetrainRequests({ modelName: model, since: manual.request.createdAt })).toContainEqual(manual.request);
      expect(await r.listRetrainRequests({ modelName: model, since: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
      await r.close();
    });

    it('decides concurrent repeats of one alert firing by its unique key: one wins, the rest are duplicates of it', async () => {
      const r = await open();
      const model = `m-${randomUUID().slice(0, 8)}`;
      const asks = await Promise.all(
        Array.from({ length: 20 }, () => r.recordRetrainRequest({ modelName: model, trigger: 'grafana', payload: {}, dedupeKey: 'fp@t' })),
      );
      const winners = asks.filter((a) => a.request.outcome === 'pending');
      expect(winners).toHaveLength(1);
      expect(asks.filter((a) => a.request.outcome === 'duplicate').every((a) => a.request.duplicateOf === winners[0].request.id)).toBe(
        true,
      );
      await r.close();
    });

    it('records a notification of asks in one call: in order, repeats (stored or in the batch) as duplicates, claimed when asked', async () => {
      const r = await open();
      const model = `m-${randomUUID().slice(0, 8)}`;
      const earlier = await r.recordRetrainRequest({ modelName: model, trigger: 'grafana', payload: { n: -1 }, dedupeKey: 'stored' });
      const asks = Array.from({ length: 1200 }, (_, n) => ({
        modelName: model,
        trigger: 'grafana' as const,
        payload: { n },
        dedupeKey: n === 3 ? 'stored' : n === 5 ? 'k1' : n === 7 ? null : `k${n}`,
      }));
      const recorded = await r.recordRetrainRequests(asks, { claim: true });
      expect(recorded.map((x) => x.request.payload)).toEqual(asks.map((a) => a.payload));
      expect(recorded[3]).toMatchObject({
        request: { outcome: 'duplicate', duplicateOf: earlier.request.id },
        duplicateOf: { id: earlier.request.id },
      });
      expect(recorded[5]).toMatchObject({ request: { outcome: 'duplicate', duplicateOf: recorded[1].request.id } });
      expect(recorded[7].request).toMatchObject({ outcome: 'pending', dedupeKey: null });
      const pending = recorded.filter((x) => x.request.outcome === 'pending').map((x) => x.request.id);
      expect(pending).toHaveLength(1198);
      expect(new Set(recorded.map((x) => x.request.id)).size).toBe(1200);
      // Claimed by the caller: nobody else takes them until the lease ends or the claim is given up.
      expect(await r.claimRetrainRequest(pending[0], 60_000)).toBe(false);
      expect(
        await r.settleRetrainRequests(pending.slice(0, 2), { outcome: 'pending', workflowId: null, runId: null, coverage: null }),
      ).toBe(2);
      expect(await r.claimRetrainRequest(pending[0], 60_000)).toBe(true);
      expect(await r.settleRetrainRequests(pending, { outcome: 'joined', workflowId: 'w', runId: 'r', coverage: 'this-run' })).toBe(1198);
      expect(await r.settleRetrainRequests(pending, { outcome: 'ignored', workflowId: null, runId: null, coverage: null })).toBe(0);
      expect(await r.getRetrainRequest(pending[1000])).toMatchObject({
        outcome: 'joined',
        workflowId: 'w',
        runId: 'r',
        coverage: 'this-run',
      });
      // Concurrent batches with the same keys: each key is won once.
      const batch = (b: number) => Array.from({ length: 50 }, (_, n) => ({ ...asks[0], payload: { b, n }, dedupeKey: `race${n}` }));
      const raced = (await Promise.all([0, 1, 2, 3].map((b) => r.recordRetrainRequests(batch(b))))).flat();
      expect(raced.filter((x) => x.request.outcome === 'pending')).toHaveLength(50);
      expect(raced.filter((x) => x.request.outcome === 'duplicate')).toHaveLength(150);
      await r.close();
    });

    it('records every change of the version a deployment serves: creation, registrations on latest, manual changes', async () => {
      const r = await open();
      const [model, other] = [`m-${randomUUID().slice(0, 8)}`, `m-${randomUUID().slice(0, 8)}`];
      const [follower, pinned] = [`dep-${randomUUID().slice(0, 8)}`, `dep-${randomUUID().slice(0, 8)}`];
      const history = async (id: string) =>
        (await r.servingHistory(id)).map(({ modelName, fromModelName, fromVersion, toVersion, reason, by }) => ({
          modelName,
          fromModelName,
          fromVersion,
          toVersion,
          reason,
          by,
        }));
      await r.createDeployment({ id: follower, modelName: model, modelVersion: 'latest', strategy: 'direct' });
      expect(await history(follower)).toEqual([
        { modelName: model, fromModelName: null, fromVersion: null, toVersion: null, reason: 'created', by: 'admin' },
      ]);
      await r.registerModelVersion({ ...version(model, 'run-1'), workflowId: 'train-and-register-x' });
      await r.createDeployment({ id: pinned, modelName: model, modelVersion: 1, strategy: 'direct' }, 'alice');
      expect(await history(pinned)).toEqual([
        { modelName: model, fromModelName: null, fromVersion: null, toVersion: 1, reason: 'created', by: 'alice' },
      ]);
      await r.registerModelVersion(version(model, 'run-2'));
      await r.registerModelVersion(version(model, 'run-2'));
      const [newest] = await r.servingHistory(follower);
      expect(newest).toMatchObject({ deploymentId: follower, note: { runId: 'run-2', trialId: 'run-2-t0' } });
      expect(Number.isNaN(Date.parse(newest.at))).toBe(false);
      // Pinning the version it serves anyway, or changing only the strategy, changes nothing it serves.
      await r.updateDeployment(follower, { modelVersion: 2, strategy: 'canary' });
      await r.updateDeployment(follower, { modelVersion: 1 }, 'bob');
      await r.updateDeployment(follower, { modelName: other, modelVersion: 'latest' }, 'carol');
      expect(await history(follower)).toEqual([
        { modelName: other, fromModelName: model, fromVersion: 1, toVersion: null, reason: 'manual', by: 'carol' },
        { modelName: model, fromModelName: model, fromVersion: 2, toVersion: 1, reason: 'manual', by: 'bob' },
        { modelName: model, fromModelName: model, fromVersion: 1, toVersion: 2, reason: 'registration', by: 'wf' },
        { modelName: model, fromModelName: model, fromVersion: null, toVersion: 1, reason: 'registration', by: 'train-and-register-x' },
        { modelName: model, fromModelName: null, fromVersion: null, toVersion: null, reason: 'created', by: 'admin' },
      ]);
      expect((await r.servingHistory(follower, { limit: 2 })).map((c) => c.by)).toEqual(['carol', 'bob']);
      expect(await history(pinned)).toHaveLength(1);
      // A deployment's history goes with it: an id used again starts over.
      expect(await r.deleteDeployment(follower)).toBe(true);
      expect(await r.servingHistory(follower)).toEqual([]);
      await r.createDeployment({ id: follower, modelName: model, modelVersion: 'latest', strategy: 'direct' });
      expect(await history(follower)).toEqual([
        { modelName: model, fromModelName: null, fromVersion: null, toVersion: 2, reason: 'created', by: 'admin' },
      ]);
      await r.close();
    });

    it('records a registration for every deployment on latest, in step with concurrent registrations', async () => {
      const [a, b] = [await open(), await open()];
      const model = `m-${randomUUID().slice(0, 8)}`;
      const followers = [`dep-${randomUUID().slice(0, 8)}`, `dep-${randomUUID().slice(0, 8)}`];
      for (const id of followers) await a.createDeployment({ id, modelName: model, modelVersion: 'latest', strategy: 'direct' });
      await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).registerModelVersion(version(model, `run-${i}`))));
      for (const id of followers) {
        const registrations = (await b.servingHistory(id)).filter((c) => c.reason === 'registration').reverse();
        expect(registrations.map((c) => [c.fromVersion, c.toVersion])).toEqual([
          [null, 1],
          [1, 2],
          [2, 3],
          [3, 4],
          [4, 5],
          [5, 6],
        ]);
      }
      await Promise.all([a.close(), b.close()]);
    });

    it('stores a deployment strategy and rollout policy, null meaning the defaults', async () => {
      const r = await open();
      const dep = `dep-${randomUUID().slice(0, 8)}`;
      const policy = { ...DEFAULT_ROLLOUT_POLICY, canaryShare: 0.25, canary: { minFrames: 500, minMinutes: 30, maxMinutes: 90 } };
      expect(await r.createDeployment({ id: dep, modelName: 'm', modelVersion: 'latest', strategy: 'shadow' })).toMatchObject({
        strategy: 'shadow',
        rolloutPolicy: null,
      });
      expect(await r.updateDeployment(dep, { strategy: 'canary', rolloutPolicy: policy })).toMatchObject({
        strategy: 'canary',
        rolloutPolicy: policy,
      });
      expect(await r.getDeployment(dep)).toMatchObject({ strategy: 'canary', rolloutPolicy: policy });
      expect((await r.updateDeployment(dep, { rolloutPolicy: null }))?.rolloutPolicy).toBeNull();
      expect((await r.listDeployments()).find((d) => d.id === dep)?.rolloutPolicy).toBeNull();
      await r.close();
    });

    it('rolls back to the version served before the current one, and refuses when there is none or it is gone', async () => {
      const r = await open();
      const [model, other] = [`m-${randomUUID().slice(0, 8)}`, `m-${randomUUID().slice(0, 8)}`];
      const dep = `dep-${randomUUID().slice(0, 8)}`;
      await r.registerModelVersion(version(model, 'run-1'));
      await r.registerModelVersion(version(model, 'run-2'));
      await r.createDeployment({ id: dep, modelName: model, modelVersion: 'latest', strategy: 'direct' });
      await expect(r.rollbackDeployment(dep, 'admin')).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringMatching(/no previous version/),
      });
      await expect(r.rollbackDeployment('no-such-deployment', 'admin')).rejects.toMatchObject({ code: 'not_found' });
      await r.registerModelVersion(version(model, 'run-3'));

      const back = await r.rollbackDeployment(dep, 'bob', 'v3 reads short');
      expect(back.deployment).toMatchObject({ id: dep, modelName: model, modelVersion: 2 });
      expect(back.change).toMatchObject({
        reason: 'rollback',
        by: 'bob',
        comment: 'v3 reads short',
        modelName: model,
        fromVersion: 3,
        toVersion: 2,
      });
      expect((await r.getDeployment(dep))?.modelVersion).toBe(2);
      expect((await r.servingHistory(dep))[0]).toEqual(back.change);
      // Pinned now: a new registration does not move it.
      await r.registerModelVersion(version(model, 'run-4'));
      expect((await r.servingHistory(dep))[0].id).toBe(back.change.id);
      // Rolling back the rollback comes back to where it was (as `kubectl rollout undo` does).
      expect((await r.rollbackDeployment(dep, 'bob')).change).toMatchObject({ fromVersion: 2, toVersion: 3, comment: null });
      expect((await r.servingHistory(dep)).map((c) => c.comment)).toEqual([null, 'v3 reads short', null, null]);
      expect((await r.getDeployment(dep))?.modelVersion).toBe(3);

      // After a change of model, the version served before belongs to another model: gone for this one, though
      // the new model has a version with the same number.
      await r.registerModelVersion(version(other, 'run-o1'));
      await r.registerModelVersion(version(other, 'run-o2'));
      await r.registerModelVersion(version(other, 'run-o3'));
      await r.updateDeployment(dep, { modelName: other, modelVersion: 1 });
      await expect(r.rollbackDeployment(dep, 'admin')).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringMatching(new RegExp(`version 3 of model "${model}", is of another model`)),
      });
      expect((await r.getDeployment(dep))?.modelVersion).toBe(1);

      await r.close();
    });

    it('refuses to pin a deployment to a version its model does not have, naming the versions it has', async () => {
      const r = await open();
      const [model, empty] = [`m-${randomUUID().slice(0, 8)}`, `m-${randomUUID().slice(0, 8)}`];
      const dep = `dep-${randomUUID().slice(0, 8)}`;
      await r.registerModelVersion(version(model, 'run-1'));
      await r.registerModelVersion(version(model, 'run-2'));
      const refused = { code: 'conflict', versions: [1, 2], message: expect.stringContaining('it has versions 1, 2') };
      await expect(r.createDeployment({ id: dep, modelName: model, modelVersion: 7, strategy: 'direct' })).rejects.toMatchObject(refused);
      expect(await r.getDeployment(dep)).toBeUndefined();
      await r.createDeployment({ id: dep, modelName: model, modelVersion: 2, strategy: 'direct' });
      await expect(r.updateDeployment(dep, { modelVersion: 3 })).rejects.toMatchObject(refused);
      await expect(r.updateDeployment(dep, { modelName: empty })).rejects.toMatchObject({
        versions: [],
        message: expect.stringContaining('no versions'),
      });
      // What it serves and its history are untouched; a version it has is taken.
      expect(await r.getDeployment(dep)).toMatchObject({ modelName: model, modelVersion: 2 });
      expect((await r.servingHistory(dep)).map((c) => c.reason)).toEqual(['created']);
      expect((await r.updateDeployment(dep, { modelVersion: 1, strategy: 'canary' }))?.modelVersion).toBe(1);
      await r.close();
    });

    it('rolls a new version out on a shadow or canary deployment: registration leaves it to the rollout, which records each stage', async () => {
      const r = await open();
      const model = `m-${randomUUID().slice(0, 8)}`;
      const [dep, direct] = [`dep-${randomUUID().slice(0, 8)}`, `dep-${randomUUID().slice(0, 8)}`];
      await r.createDeployment({ id: dep, modelName: model, modelVersion: 'latest', strategy: 'shadow' });
      await r.createDeployment({ id: direct, modelName: model, modelVersion: 'latest', strategy: 'direct' });
      expect(await r.getDeployment(dep)).toMatchObject({ currentVersion: null, rollout: null });
      await expect(
        r.setRolloutStage(dep, { candidateVersion: 1, stage: 'shadow', canaryClients: [], workflowId: 'w', note: null }),
      ).rejects.toMatchObject({ code: 'conflict' });
      // Its first version serves at once: there is nothing to compare it with.
      await r.registerModelVersion(version(model, 'run-1'));
      expect(await r.getDeployment(dep)).toMatchObject({ currentVersion: 1, rollout: null });
      expect((await r.servingHistory(dep))[0]).toMatchObject({ reason: 'registration', fromVersion: null, toVersion: 1 });
      // Later versions do not: the direct deployment takes v2, the shadow one keeps v1 until a rollout decides.
      await r.registerModelVersion(version(model, 'run-2'));
      expect(await r.getDeployment(dep)).toMatchObject({ currentVersion: 1, rollout: null });
      expect((await r.servingHistory(dep))[0].reason).toBe('registration');
      expect((await r.servingHistory(direct))[0]).toMatchObject({ reason: 'registration', toVersion: 2 });

      const step = { candidateVersion: 2, stage: 'shadow' as const, canaryClients: [], workflowId: 'rollout-x', note: { why: 'test' } };
      await expect(r.setRolloutStage(dep, { ...step, candidateVersion: 9 })).rejects.toMatchObject({ code: 'conflict' });
      await expect(r.setRolloutStage(dep, { ...step, candidateVersion: 1 })).rejects.toMatchObject({ code: 'conflict' });
      await expect(r.setRolloutStage(direct, step)).rejects.toMatchObject({ code: 'conflict' });
      await expect(r.setRolloutStage('no-such-deployment', step)).rejects.toMatchObject({ code: 'not_found' });
      const shadow = await r.setRolloutStage(dep, step);
      expect(shadow.deployment).toMatchObject({
        currentVersion: 1,
        rollout: { candidateVersion: 2, stage: 'shadow', workflowId: 'rollout-x' },
      });
      expect(shadow.change).toMatchObject({
        reason: 'rollout-shadow',
        fromVersion: 1,
        toVersion: 2,
        by: 'rollout-x',
        note: { why: 'test' },
      });
      // A retried step records nothing more.
      expect((await r.setRolloutStage(dep, step)).change).toBeNull();
      const canary = await r.setRolloutStage(dep, { ...step, stage: 'canary', canaryClients: ['rover-3'] });
      expect(canary.change?.reason).toBe('rollout-canary');
      expect((await r.getDeployment(dep))?.rollout).toMatchObject({
        stage: 'canary',
        canaryClients: ['rover-3'],
        startedAt: shadow.deployment.rollout?.startedAt,
      });

      // Ending another candidate's rollout changes nothing; ending this one promotes it.
      expect(
        (await r.endRollout(dep, { candidateVersion: 3, outcome: 'promoted', workflowId: 'rollout-x', note: null })).change,
      ).toBeNull();
      const promoted = await r.endRollout(dep, { candidateVersion: 2, outcome: 'promoted', workflowId: 'rollout-x', note: { p: 0.001 } });
      expect(promoted.deployment).toMatchObject({ currentVersion: 2, rollout: null });
      expect(promoted.change).toMatchObject({ reason: 'rollout-promoted', fromVersion: 1, toVersion: 2, note: { p: 0.001 } });
      expect(
        (await r.endRollout(dep, { candidateVersion: 2, outcome: 'promoted', workflowId: 'rollout-x', note: null })).change,
      ).toBeNull();

      // A rolled-back candidate leaves the current version; a rollback afterwards goes to what served before it.
      await r.registerModelVersion(version(model, 'run-3'));
      await r.setRolloutStage(dep, { ...step, candidateVersion: 3 });
      const rejected = await r.endRollout(dep, { candidateVersion: 3, outcome: 'rolled-back', workflowId: 'rollout-x', note: null });
      expect(rejected.deployment).toMatchObject({ currentVersion: 2, rollout: null });
      expect(rejected.change).toMatchObject({ reason: 'rollout-rolled-back', fromVersion: 3, toVersion: 2 });
      const back = await r.rollbackDeployment(dep, 'admin');
      expect(back.change).toMatchObject({ fromVersion: 2, toVersion: 1 });
      expect(back.deployment).toMatchObject({ modelVersion: 1, currentVersion: null, rollout: null });
      await r.close();
    });

    it("records a bandit stage's move of rovers as a change of its own, only when the rovers change, and keeps the stage's start", async () => {
      const r = await open();
      const model = `m-${randomUUID().slice(0, 8)}`;
      const dep = `dep-${randomUUID().slice(0, 8)}`;
      await r.createDeployment({ id: dep, modelName: model, modelVersion: 'latest', strategy: 'bandit' });
      await r.registerModelVersion(version(model, 'run-1'));
      await r.registerModelVersion(version(model, 'run-2'));
      const step = { candidateVersion: 2, stage: 'bandit' as const, canaryClients: ['a', 'b'], workflowId: 'w', note: { look: 0 } };
      const entered = await r.setRolloutStage(dep, step);
      expect(entered.change).toMatchObject({ reason: 'rollout-bandit', fromVersion: 1, toVersion: 2, kind: 'rollout-stage' });
      // The same rovers, in another order, are no move.
      expect((await r.setRolloutStage(dep, { ...step, canaryClients: ['b', 'a'] })).change).toBeNull();
      const moved = await r.setRolloutStage(dep, { ...step, canaryClients: ['a', 'b', 'c'], note: { look: 1 } });
      expect(moved.change).toMatchObject({ reason: 'rollout-bandit', note: { look: 1 } });
      expect(moved.change?.summary).toMatch(/^rollout-bandit: v2 answers for the rovers the bandit gave it; the others keep v1/);
      expect(moved.deployment.rollout).toMatchObject({
        stage: 'bandit',
        canaryClients: ['a', 'b', 'c'],
        stageStartedAt: entered.deployment.rollout?.stageStartedAt,
      });
      expect((await r.servingHistory(dep)).map((c) => c.reason)).toEqual(['rollout-bandit', 'rollout-bandit', 'registration', 'created']);
      // Other stages keep their rovers when entered again (a canary's pick is sticky).
      const ab = await r.setRolloutStage(dep, { ...step, stage: 'ab', canaryClients: ['a'] });
      expect(ab.change?.reason).toBe('rollout-ab');
      expect((await r.setRolloutStage(dep, { ...step, stage: 'ab', canaryClients: ['a', 'b'] })).change).toBeNull();
      expect((await r.getDeployment(dep))?.rollout?.canaryClients).toEqual(['a']);
      await r.close();
    });

    it('takes the newest version as current when a deployment takes up a rollout strategy, and ends the rollout when it leaves it', async () => {
      const r = await open();
      const model = `m-${randomUUID().slice(0, 8)}`;
      const dep = `dep-${randomUUID().slice(0, 8)}`;
      await r.registerModelVersion(version(model, 'run-1'));
      await r.createDeployment({ id: dep, modelName: model, modelVersion: 'latest', strategy: 'direct' });
      await r.registerModelVersion(version(model, 'run-2'));
      expect(await r.updateDeployment(dep, { strategy: 'canary' })).toMatchObject({ currentVersion: 2, rollout: null });
      await r.registerModelVersion(version(model, 'run-3'));
      await r.setRolloutStage(dep, { candidateVersion: 3, stage: 'canary', canaryClients: ['a'], workflowId: 'w', note: null });
      expect((await r.updateDeployment(dep, { rolloutPolicy: null }))?.rollout?.candidateVersion).toBe(3);
      const direct = await r.updateDeployment(dep, { strategy: 'direct' });
      expect(direct).toMatchObject({ currentVersion: null, rollout: null });
      // Direct on latest serves the newest: the change is recorded as manual.
      expect((await r.servingHistory(dep))[0]).toMatchObject({ reason: 'manual', fromVersion: 2, toVersion: 3 });
      await r.close();
    });

    it('keeps viewers by unique name, finds one by its token hash, and forgets a deleted one', async () => {
      const r = await open();
      const name = `viewer ${randomUUID().slice(0, 8)}`;
      const hash = randomUUID().replace(/-/g, '');
      const viewer = await r.createViewer({ name, tokenHash: hash, createdBy: 'admin' });
      expect(viewer).toMatchObject({ name, tokenHash: hash, createdBy: 'admin' });
      expect(Number.isInteger(viewer.id)).toBe(true);
      expect(Date.parse(viewer.createdAt)).not.toBeNaN();
      await expect(r.createViewer({ name, tokenHash: `${hash}-2`, createdBy: 'admin' })).rejects.toMatchObject({ code: 'conflict' });
      const other = await r.createViewer({ name: `${name} too`, tokenHash: `${hash}-3`, createdBy: 'admin' });
      expect(await r.findViewerByTokenHash(hash)).toEqual(viewer);
      expect(await r.findViewerByTokenHash('no such hash')).toBeUndefined();
      const listed = (await r.listViewers()).filter((v) => v.name.startsWith(name));
      expect(listed).toEqual([viewer, other]);
      expect(await r.deleteViewer(viewer.id)).toBe(true);
      expect(await r.deleteViewer(viewer.id)).toBe(false);
      expect(await r.findViewerByTokenHash(hash)).toBeUndefined();
      expect(await r.findViewerByTokenHash(`${hash}-3`)).toEqual(other);
      await r.close();
    });

    it('keeps annotations newest first, a fleet-wide one matching any deployment, within a time range', async () => {
      const r = await open();
      const dep = `dep-${randomUUID().slice(0, 8)}`;
      const other = `dep-${randomUUID().slice(0, 8)}`;
      // A day of its own, so that annotations of other runs on the same server stay out of the range.
      const day = Date.UTC(2001, 0, 1) + Math.floor(Math.random() * 10_000) * 86_400_000;
      const at = (minutes: number) => new Date(day + minutes * 60_000).toISOString();
      const range = { since: at(0), until: at(60) };
      const fleet = await r.addAnnotation({
        time: at(10),
        text: 'phase 1: drift',
        tags: ['demo', 'phase-1'],
        deployment: null,
        by: 'demo',
      });
      const mine = await r.addAnnotation({ time: at(20), text: 'rolled back', tags: [], deployment: dep, by: 'admin' });
      const theirs = await r.addAnnotation({ time: at(30), text: 'other', tags: ['x'], deployment: other, by: 'admin' });
      const tie = await r.addAnnotation({ time: at(30), text: 'same time, later', tags: [], deployment: dep, by: 'admin' });
      expect(fleet).toMatchObject({ time: at(10), text: 'phase 1: drift', tags: ['demo', 'phase-1'], deployment: null, by: 'demo' });
      expect(await r.listAnnotations(range)).toEqual([tie, theirs, mine, fleet]);
      expect(await r.listAnnotations({ ...range, deployment: dep })).toEqual([tie, mine, fleet]);
      expect(await r.listAnnotations({ ...range, deployment: dep, limit: 2 })).toEqual([tie, mine]);
      expect(await r.listAnnotations({ since: at(20), until: at(29), deployment: dep })).toEqual([mine]);
      expect(await r.listAnnotations({ since: at(11), until: at(19) })).toEqual([]);
      await r.close();
    });

    it('keeps one open sensor fault per client and deployment, updated when flagged again, cleared once, listed by client, deployment and state', async () => {
      const r = await open();
      const dep = `dep-${randomUUID().slice(0, 8)}`;
      const [rover, other] = [`c-${randomUUID().slice(0, 8)}`, `c-${randomUUID().slice(0, 8)}`];
      const since = new Date(Date.UTC(2026, 0, 1)).toISOString();
      const flag = (client: string, kinds: ('stuck' | 'spikes')[], runs: number) =>
        r.flagSensorFault({ client, deployment: dep, kinds, evidence: { stuckRun: runs, note: 'x' }, summary: `stuck for ${runs}`, since });
      const first = await flag(rover, ['stuck'], 40);
      expect(first.created).toBe(true);
      expect(first.fault).toMatchObject({ client: rover, deployment: dep, kinds: ['stuck'], since, clearedAt: null, clearedBy: null });
      const again = await flag(rover, ['stuck', 'spikes'], 80);
      expect(again.created).toBe(false);
      expect(again.fault).toMatchObject({ id: first.fault.id, kinds: ['stuck', 'spikes'], evidence: { stuckRun: 80, note: 'x' }, since });
      expect(await r.getSensorFault(first.fault.id)).toEqual(again.fault);
      const theirs = (await flag(other, ['spikes'], 1)).fault;
      expect((await r.listSensorFaults({ deployment: dep })).map((f) => f.id).sort()).toEqual([first.fault.id, theirs.id].sort());
      expect(await r.listSensorFaults({ client: rover, open: true })).toEqual([again.fault]);

      const cleared = await r.clearSensorFault(first.fault.id, { by: 'operator', reason: 'lens cleaned' });
      expect(cleared).toMatchObject({ id: first.fault.id, clearedBy: 'operator', clearReason: 'lens cleaned' });
      expect(cleared?.clearedAt).toEqual(expect.any(String));
      // A second clearing keeps the first; the client may be flagged anew.
      expect(await r.clearSensorFault(first.fault.id, { by: 'sensor-health', reason: 'healthy' })).toEqual(cleared);
      expect(await r.listSensorFaults({ client: rover, open: true })).toEqual([]);
      expect(await r.listSensorFaults({ client: rover, open: false })).toEqual([cleared]);
      const anew = await flag(rover, ['spikes'], 2);
      expect(anew.created).toBe(true);
      expect(anew.fault.id).not.toBe(first.fault.id);
      expect(await r.listSensorFaults({ deployment: dep, open: true, limit: 1 })).toHaveLength(1);
      // The same rover in another deployment has a fault of its own there.
      const elsewhere = await r.flagSensorFault({ ...anew.fault, deployment: `${dep}-b` });
      expect(elsewhere.created).toBe(true);
      expect((await r.getSensorFault(anew.fault.id))?.deployment).toBe(dep);
      expect(await r.clearSensorFault(-1, { by: 'operator', reason: 'none' })).toBeUndefined();
      expect(await r.getSensorFault(-1)).toBeUndefined();
      await r.close();
    });

    it('holds one claim per client and Idempotency-Key: the first claims it, a repeat finds it, a stale one of the same frame is taken over', async () => {
      const r = await open();
      const client = `c-${randomUUID().slice(0, 8)}`;
      const key = `key-${randomUUID()}`;
      const long = 'k'.repeat(255);
      const far = { staleBefore: 0, expiredBefore: new Date(0).toISOString() };
      const claim = (holder: string, fingerprint = 'f'.repeat(64), k = key) =>
        r.claimIdempotencyKey({ client, key: k, requestId: `req-${holder}`, frameTime: 1_700_000_000_123, fingerprint, holder }, far);

      const first = await claim('h1');
      expect(first.outcome).toBe('claimed');
      expect(first.claim).toMatchObject({
        client,
        key,
        requestId: 'req-h1',
        frameTime: 1_700_000_000_123,
        state: 'pending',
        answer: null,
        holder: 'h1',
      });
      expect(await claim('h2')).toMatchObject({ outcome: 'held', claim: { holder: 'h1', state: 'pending' } });
      // Stale now: a handling of the same frame takes it over with the first request id and frame time; another frame does not.
      const stale = { staleBefore: Date.now() + 1000, expiredBefore: new Date(0).toISOString() };
      const other = await r.claimIdempotencyKey({ ...first.claim, requestId: 'req-x', fingerprint: 'e'.repeat(64), holder: 'hx' }, stale);
      expect(other).toMatchObject({ outcome: 'held', claim: { holder: 'h1' } });
      const taken = await r.claimIdempotencyKey({ ...first.claim, requestId: 'req-h3', holder: 'h3' }, stale);
      expect(taken).toMatchObject({ outcome: 'taken-over', claim: { holder: 'h3', requestId: 'req-h1', frameTime: 1_700_000_000_123 } });
      // Only the holder settles or releases it.
      expect(await r.settleIdempotencyKey(client, key, 'h1', { status: 200, body: { a: 1 } })).toBe(false);
      expect(await r.releaseIdempotencyKey(client, key, 'h1')).toBe(false);
      expect(await r.settleIdempotencyKey(client, key, 'h3', { status: 200, body: { prediction_mm: 12.5, request_id: 'req-h1' } })).toBe(
        true,
      );
      const done = await r.claimIdempotencyKey({ ...first.claim, holder: 'h4' }, stale);
      expect(done).toMatchObject({
        outcome: 'held',
        claim: { state: 'done', answer: { status: 200, body: { prediction_mm: 12.5, request_id: 'req-h1' } } },
      });
      expect(await r.releaseIdempotencyKey(client, key, 'h3')).toBe(false);

      // A released claim frees the key; keys are per client; a long key is kept whole.
      expect((await claim('h5', 'f'.repeat(64), long)).outcome).toBe('claimed');
      expect(await r.releaseIdempotencyKey(client, long, 'h5')).toBe(true);
      expect((await claim('h6', 'd'.repeat(64), long)).outcome).toBe('claimed');
      expect(
        (await r.claimIdempotencyKey({ client: `${client}-b`, key, requestId: 'r', frameTime: 1, fingerprint: 'f', holder: 'h7' }, far))
          .outcome,
      ).toBe('claimed');

      // Concurrent claims of a new key: one wins.
      const racing = `key-${randomUUID()}`;
      const outcomes = await Promise.all([1, 2, 3, 4].map((i) => claim(`race-${i}`, 'f'.repeat(64), racing)));
      expect(outcomes.filter((o) => o.outcome === 'claimed')).toHaveLength(1);
      expect(new Set(outcomes.map((o) => o.claim.holder)).size).toBe(1);

      // An expired claim is replaced by a new one, and pruned.
      const expired = { staleBefore: 0, expiredBefore: new Date(Date.now() + 1000).toISOString() };
      const anew = await r.claimIdempotencyKey({ ...first.claim, requestId: 'req-new', holder: 'h8' }, expired);
      expect(anew).toMatchObject({ outcome: 'claimed', claim: { requestId: 'req-new', state: 'pending' } });
      expect(await r.pruneIdempotencyKeys(new Date(Date.now() + 1000).toISOString())).toBeGreaterThanOrEqual(4);
      expect((await claim('h9')).outcome).toBe('claimed');
      await r.close();
    });

    it('stores a parking run once per client and run id, lists them newest first, and sums a deployment by mode and version', async () => {
      const r = await open();
      const dep = `dep-${randomUUID().slice(0, 8)}`;
      const client = `c-${randomUUID().slice(0, 8)}`;
      const run = (runId: string, overrides: Partial<Parameters<RegistryStore['recordParkingRun']>[0]> = {}) => ({
        runId,
        client,
        deployment: dep,
        mode: 'model' as const,
        startedAt: '2026-12-06T08:00:00.000Z',
        endedAt: '2026-12-06T08:00:20.000Z',
        frames: 80,
        steered: { model: 70, laser: 9, stopped: 1 },
        outcome: 'parked' as const,
        finalLaserMm: 14,
        finalTrueMm: 12.5,
        modelVersion: 3,
        stopReason: 'model',
        simulated: true,
        preset: 'green',
        ...overrides,
      });
      const first = await r.recordParkingRun(run('run-a'));
      expect(first.created).toBe(true);
      expect(first.run).toEqual({ ...run('run-a'), receivedAt: expect.any(String) });
      const again = await r.recordParkingRun(run('run-a', { outcome: 'hit' }));
      expect(again).toEqual({ run: first.run, created: false });
      await r.recordParkingRun(
        run('run-b', { outcome: 'hit', finalLaserMm: 0, finalTrueMm: null, modelVersion: null, simulated: false, preset: null }),
      );
      await r.recordParkingRun(run('run-c', { mode: 'laser', outcome: 'early', finalLaserMm: 40, finalTrueMm: 42, stopReason: 'laser' }));
      await r.recordParkingRun(run('run-d', { client: `${client}-b`, deployment: null }));
      // Parked, but the laser stopped it: the camera would have driven on.
      await r.recordParkingRun(run('run-e', { client: `${client}-c`, finalTrueMm: 17.5, stopReason: 'laser' }));

      const listed = await r.listParkingRuns({ client });
      expect(listed.map((x) => x.runId)).toEqual(['run-c', 'run-b', 'run-a']);
      expect(listed[1]).toMatchObject({ modelVersion: null, finalTrueMm: null, simulated: false, preset: null });
      expect(await r.listParkingRuns({ deployment: dep, limit: 1 })).toHaveLength(1);
      expect(await r.listParkingRuns({ client, since: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);

      expect(await r.parkingSuccess(dep)).toEqual([
        {
          mode: 'laser',
          modelVersion: 3,
          runs: 1,
          parked: 0,
          hit: 0,
          early: 1,
          successRate: 0,
          parkedByModel: 0,
          laserStops: 0,
          meanFinalMm: 42,
        },
        {
          mode: 'model',
          modelVersion: null,
          runs: 1,
          parked: 0,
          hit: 1,
          early: 0,
          successRate: 0,
          parkedByModel: 0,
          laserStops: 0,
          meanFinalMm: 0,
        },
        {
          mode: 'model',
          modelVersion: 3,
          runs: 2,
          parked: 2,
          hit: 0,
          early: 0,
          successRate: 1,
          parkedByModel: 1,
          laserStops: 1,
          meanFinalMm: 15,
        },
      ]);
      expect(await r.parkingSuccess(dep, new Date(Date.now() + 60_000).toISOString())).toEqual([]);
      expect(await r.parkingSuccess(`${dep}-none`)).toEqual([]);
      await r.close();
    });

    it.runIf(server.restart)('keeps its data and answers again after the server restarts mid-suite', async () => {
      const r = await open();
      const dep = `dep-${randomUUID().slice(0, 8)}`;
      await r.createDeployment({ id: dep, modelName: 'm', modelVersion: 'latest', strategy: 'direct' });
      await server.restart!();
      expect((await r.getDeployment(dep))?.modelVersion).toBe('latest');
      const model = `m-${randomUUID().slice(0, 8)}`;
      expect((await r.registerModelVersion(version(model, 'after-restart'))).version).toBe(1);
      await r.close();
    });
  });
}

const zeros = Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f) => [f, 0])) as ImageCharacteristics;

export function measurementsContract(name: string, open: () => Promise<MeasurementStore>, server: ServerControl = {}) {
  describe(`MeasurementStore contract: ${name}`, () => {
    const record = (deployment: string, time: number, sensor: number | null, prediction: number | null, hsv_s = 50): InferenceRecord => ({
      time,
      deployment,
      client: 'c',
      modelName: prediction === null ? null : 'm',
      modelVersion: prediction === null ? null : 2,
      prediction,
      sensorValue: sensor,
      error: sensor !== null && prediction !== null ? Math.abs(sensor - prediction) : null,
      latencyMs: 3,
      imageKey: `features/${deployment}/${time}.jpg`,
      characteristics: { ...zeros, hsv_s },
    });

    it('returns every labelled dataset row once, many in one millisecond (a store may read them in pages)', async () => {
      const m = await open();
      const d = `d-${randomUUID().slice(0, 8)}`;
      const t0 = 1_700_000_100_000;
      const times = [t0, t0, t0, t0 + 1, t0 + 1, t0 + 1, t0 + 1, t0 + 2, t0 + 3];
      await m.write(
        times.map((time, i) => ({
          ...record(d, time, i === 4 ? null : 10 + i, null),
          client: `c${i}`,
          imageKey: `features/${d}/${i}.jpg`,
        })),
      );
      const rows = await m.datasetRows([d]);
      expect(rows.map((r) => r.imageKey).sort()).toEqual([0, 1, 2, 3, 5, 6, 7, 8].map((i) => `features/${d}/${i}.jpg`));
      expect(rows.map((r) => r.time)).toEqual([...rows.map((r) => r.time)].sort((a, b) => a - b));
      expect(await m.datasetRows([d], { since: t0 + 1 })).toHaveLength(5);
    });

    it('keeps a record whose image could not be analysed, without characteristics', async () => {
      const m = await open();
      const d = `d-${randomUUID().slice(0, 8)}`;
      const t0 = 1_700_000_200_000;
      await m.write([{ ...record(d, t0, 120, 100), characteristics: null }, record(d, t0 + 1, 130, 100, 70)]);
      expect((await m.datasetRows([d])).map((r) => [r.imageKey, r.characteristics])).toEqual([
        [`features/${d}/${t0}.jpg`, {}],
        [`features/${d}/${t0 + 1}.jpg`, { ...zeros, hsv_s: 70 }],
      ]);
      expect((await m.deploymentStats(d)).count).toBe(2);
    });

    it('returns labelled dataset rows oldest first, stats, histograms and windowed means', async () => {
      const m = await open();
      const d = `d-${randomUUID().slice(0, 8)}`;
      const t0 = 1_700_000_000_000;
      await m.write([
        record(d, t0 + 2000, 100, 110, 40),
        record(d, t0, 50, null, 60),
        record(d, t0 + 1000, null, 80),
        record(d, t0 + 400_000, 300, 250, 150),
      ]);
      const rows = await m.datasetRows([d]);
      expect(rows.map((r) => r.sensorValue)).toEqual([50, 100, 300]);
      // Each row carries its frame's characteristics: the reference profile of a version trained on them.
      expect(rows.map((r) => r.characteristics)).toEqual([60, 40, 150].map((hsv_s) => ({ ...zeros, hsv_s })));
      expect(await m.datasetRows([d], { since: t0 + 1500, until: t0 + 3000 })).toHaveLength(1);
      const stats = await m.deploymentStats(d);
      expect(stats).toMatchObject({
        count: 4,
        labelledCount: 3,
        sensorMin: 50,
        sensorMax: 300,
        predictionMin: 80,
        predictionMax: 250,
        meanError: 30,
        maxError: 50,
        modelVersion: 2,
      });
      const hist = await m.histogram(d, 'sensor_value', { min: 0, max: 300, count: 3 });
      expect(hist.map((b) => b.count)).toEqual([1, 1, 1]);
      // Without bounds the bins span the field's own values (hsv_s here: 40..150).
      const spanned = await m.histogram(d, 'hsv_s', { count: 2 });
      expect(spanned).toEqual([
        { lower: 40, upper: 95, count: 3 },
        { lower: 95, upper: 150, count: 1 },
      ]);
      const means = await m.windowedMeans(d, 'hsv_s', 300_000, { since: t0 - (t0 % 300_000) });
      expect(means.map((w) => Math.round(w.mean!))).toEqual([Math.round((40 + 60 + 50) / 3), 150]);
      await expect(m.histogram(d, 'nope' as never, { min: 0, max: 1, count: 1 })).rejects.toThrow(/unknown measurement field/);
      expect((await m.deploymentStats('never-written')).count).toBe(0);
      await m.close();
    });

    it('resolves a write only once every record of it is stored, however many it holds', async () => {
      const m = await open();
      const d = `d-${randomUUID().slice(0, 8)}`;
      // More than one InfluxDB client batch (5,000 lines): the spool deletes frames once write() resolves.
      const t0 = 1_700_000_000_000;
      await m.write(Array.from({ length: 12_000 }, (_, i) => record(d, t0 + i, i % 300, (i % 300) + 1)));
      expect((await m.deploymentStats(d)).count).toBe(12_000);
      await m.close();
    });

    it('keeps every record from two concurrent writers', async () => {
      const [a, b] = [await open(), await open()];
      const d = `d-${randomUUID().slice(0, 8)}`;
      await Promise.all(
        [a, b].map((m, w) =>
          Promise.all(Array.from({ length: 20 }, (_, i) => m.write([record(d, 1_700_000_000_000 + w * 1000 + i, i, i)]))),
        ),
      );
      expect((await a.deploymentStats(d)).count).toBe(40);
      await Promise.all([a.close(), b.close()]);
    });

    it('stores a record written twice once, so replaying a spool is safe', async () => {
      const m = await open();
      const d = `d-${randomUUID().slice(0, 8)}`;
      const [first, second] = [record(d, 1_700_000_000_000, 10, 12), record(d, 1_700_000_000_000, 20, 25)];
      second.imageKey = `${second.imageKey}-other-frame-same-ms`;
      await m.write([first, second]);
      await m.write([first]);
      expect((await m.deploymentStats(d)).count).toBe(2);
      await m.writeAnalysisStats({
        time: Date.now(),
        instance: `test-${d}`,
        queueDepth: 3,
        queueBytes: 60_000,
        spooled: 1,
        spoolBytes: 80_000,
        written: 10,
        failed: 0,
        refused: 2,
      });
      await m.close();
    });

    it("reads a drift window: one version's newest frames of one deployment, by column, capped", async () => {
      const m = await open();
      const d = `d-${randomUUID().slice(0, 8)}`;
      const t0 = Date.now() - 60_000;
      const other = { ...record(d, t0 + 5, 7, 9), modelVersion: 3 };
      await m.write([
        record(d, t0, 100, 110, 40),
        record(d, t0 + 1, null, 80, 41),
        record(d, t0 + 2, 30, 20, 42),
        // No prediction: no model answered it, so no version's window holds it.
        record(d, t0 + 3, 40, null, 43),
        record(`${d}-other`, t0 + 4, 1, 1, 99),
        other,
      ]);
      const window = await m.driftWindow({ deployment: d, modelName: 'm', modelVersion: 2, since: t0, maxFrames: 10 });
      expect(window.frames).toBe(3);
      expect([window.windowStart, window.windowEnd]).toEqual([t0, t0 + 2]);
      expect([...window.features.hsv_s!].sort()).toEqual([40, 41, 42]);
      expect([...window.labels].sort((a, b) => a - b)).toEqual([30, 100]);
      expect([...window.errors].sort((a, b) => a - b)).toEqual([10, 10]);
      const newest = await m.driftWindow({ deployment: d, modelName: 'm', modelVersion: 2, since: t0, maxFrames: 2 });
      expect([...newest.features.hsv_s!].sort()).toEqual([41, 42]);
      const later = await m.driftWindow({ deployment: d, modelName: 'm', modelVersion: 2, since: t0 + 1, maxFrames: 10 });
      expect(later.frames).toBe(2);
      const none = await m.driftWindow({ deployment: d, modelName: 'm', modelVersion: 9, since: t0, maxFrames: 10 });
      expect(none).toMatchObject({ frames: 0, windowStart: null, windowEnd: null });
      await m.close();
    });

    describe('suspect lasers', () => {
      const byRover = (d: string, client: string, time: number, sensor: number | null, prediction: number | null, hsv_s = 50) => ({
        ...record(d, time, sensor, prediction, hsv_s),
        client,
        imageKey: `features/${d}/${client}-${time}.jpg`,
      });

      it("reads a sensor window: a deployment's newest frames of every rover and version, oldest first, invalid readings as sent", async () => {
        const m = await open();
        const d = `d-${randomUUID().slice(0, 8)}`;
        const t0 = Date.now() - 60_000;
        await m.write([
          byRover(d, 'a', t0, 100, 110, 40),
          { ...byRover(d, 'b', t0 + 1, 8190, 120, 41), error: null, sensorStatus: 'error-code' },
          { ...byRover(d, 'a', t0 + 2, null, 80, 42), modelVersion: 3 },
          byRover(d, 'c', t0 + 3, 40, null, 43),
          byRover(`${d}-other`, 'a', t0 + 4, 1, 1, 99),
          byRover(d, 'a', t0 - 10_000, 1, 1, 99),
        ]);
        const window = await m.sensorWindow({ deployment: d, since: t0, maxFrames: 10 });
        expect(window.deployment).toBe(d);
        expect(
          window.frames.map(({ time, client, modelVersion, sensorValue, prediction }) => [
            time,
            client,
            modelVersion,
            sensorValue,
            prediction,
          ]),
        ).toEqual([
          [t0, 'a', 2, 100, 110],
          [t0 + 1, 'b', 2, 8190, 120],
          [t0 + 2, 'a', 3, null, 80],
          [t0 + 3, 'c', null, 40, null],
        ]);
        expect(window.frames.map((f) => f.features.hsv_s)).toEqual([40, 41, 42, 43]);
        const newest = await m.sensorWindow({ deployment: d, since: t0, maxFrames: 2 });
        expect(newest.frames.map((f) => f.time)).toEqual([t0 + 2, t0 + 3]);
        expect((await m.sensorWindow({ deployment: `${d}-none`, since: t0, maxFrames: 2 })).frames).toEqual([]);
        await expect(m.sensorWindow({ deployment: d, since: t0, maxFrames: 0 })).rejects.toThrow(/maxFrames/);
        await m.close();
      });

      it('keeps an invalid reading marked: no label in datasets or drift windows, marked in the frames list; rows name their rover', async () => {
        const m = await open();
        const d = `d-${randomUUID().slice(0, 8)}`;
        const t0 = Date.now() - 60_000;
        await m.write([
          byRover(d, 'a', t0, 100, 110),
          { ...byRover(d, 'b', t0 + 1, 8190, 120), error: null, sensorStatus: 'error-code' },
          { ...byRover(d, 'b', t0 + 2, 5000, 120), error: null, sensorStatus: 'out-of-range' },
        ]);
        expect((await m.datasetRows([d])).map((r) => [r.client, r.sensorValue])).toEqual([['a', 100]]);
        const window = await m.driftWindow({ deployment: d, modelName: 'm', modelVersion: 2, since: t0, maxFrames: 10 });
        expect(window.frames).toBe(3);
        expect([...window.labels]).toEqual([100]);
        expect([...window.errors]).toEqual([10]);
        expect((await m.recentFrames(d, { limit: 10 })).map((f) => [f.sensorValue, f.sensorStatus])).toEqual([
          [5000, 'out-of-range'],
          [8190, 'error-code'],
          [100, null],
        ]);
        await m.close();
      });

      it("leaves suspect rovers' frames out of a drift window and a rollout's evidence", async () => {
        const m = await open();
        const d = `d-${randomUUID().slice(0, 8)}`;
        const t0 = Date.now() - 60_000;
        const paired = (client: string, time: number, sensor: number) => ({
          ...byRover(d, client, time, sensor, 110),
          shadow: { modelVersion: 3, prediction: 130, error: Math.abs(130 - sensor) },
        });
        await m.write([paired('a', t0, 100), paired('b', t0 + 1, 50), paired('c', t0 + 2, 120)]);
        const window = await m.driftWindow({
          deployment: d,
          modelName: 'm',
          modelVersion: 2,
          since: t0,
          maxFrames: 10,
          excludeClients: ['b'],
        });
        expect([...window.labels].sort((x, y) => x - y)).toEqual([100, 120]);
        const none = await m.driftWindow({ deployment: d, modelName: 'm', modelVersion: 2, since: t0, maxFrames: 10, excludeClients: [] });
        expect(none.frames).toBe(3);
        // A suspect's own frames, to take out of the window's summaries; up to a time.
        const only = await m.driftWindow({
          deployment: d,
          modelName: 'm',
          modelVersion: 2,
          since: t0,
          maxFrames: 10,
          onlyClients: ['b', 'c'],
        });
        expect([...only.labels].sort((x, y) => x - y)).toEqual([50, 120]);
        const upTo = await m.driftWindow({
          deployment: d,
          modelName: 'm',
          modelVersion: 2,
          since: t0,
          until: t0 + 1,
          maxFrames: 10,
          onlyClients: ['b', 'c'],
        });
        expect([...upTo.labels]).toEqual([50]);
        expect(
          (await m.driftWindow({ deployment: d, modelName: 'm', modelVersion: 2, since: t0, maxFrames: 10, onlyClients: [] })).frames,
        ).toBe(0);
        const query = { deployment: d, modelName: 'm', currentVersion: 2, candidateVersion: 3, since: t0, maxPairs: 10 };
        const evidence = await m.rolloutEvidence({ ...query, excludeClients: ['b', 'c'] });
        expect(evidence).toMatchObject({ frames: 1, labelled: 1 });
        expect([...evidence.pairs.current, ...evidence.pairs.candidate]).toEqual([10, 30]);
        expect((await m.rolloutEvidence(query)).frames).toBe(3);
        await m.close();
      });
    });

    it("keeps drift summaries: one row per minute and writer, a writer's row replaced as its minute fills, newest minute first", async () => {
      const m = await open();
      const d = `d-${randomUUID().slice(0, 8)}`;
      const minute = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;
      // Longer than one InfluxDB string field holds.
      const big = JSON.stringify({ v: 1, cells: Array.from({ length: 20_000 }, (_, i) => i) });
      const row = (at: number, writer: string, frames: number, summary = `{"frames":${frames}}`): DriftSummaryRow => ({
        deployment: d,
        modelName: 'm',
        modelVersion: 2,
        minute: at,
        writer,
        frames,
        firstTime: at + 1_000,
        lastTime: at + 1_000 + frames,
        summary,
      });
      await m.writeDriftSummaries([row(minute, 'api-1', 10), row(minute, 'api-2', 5, big), row(minute + 60_000, 'api-1', 7)]);
      await m.writeDriftSummaries([
        row(minute, 'api-1', 12),
        { ...row(minute, 'api-1', 3), modelVersion: 3 },
        { ...row(minute, 'api-1', 4), deployment: `${d}-other` },
      ]);
      const rows = await m.driftSummaries({ deployment: d, modelName: 'm', modelVersion: 2, since: minute });
      expect(rows.map((r) => [r.minute, r.writer, r.frames])).toEqual([
        [minute + 60_000, 'api-1', 7],
        [minute, 'api-1', 12],
        [minute, 'api-2', 5],
      ]);
      expect(rows[1]).toEqual(row(minute, 'api-1', 12));
      expect(rows[2].summary).toBe(big);
      // Rows whose newest frame is older than `since` are left out.
      const later = await m.driftSummaries({ deployment: d, modelName: 'm', modelVersion: 2, since: minute + 1_000 + 11 });
      expect(later.map((r) => [r.minute, r.writer])).toEqual([
        [minute + 60_000, 'api-1'],
        [minute, 'api-1'],
      ]);
      expect(await m.driftSummaries({ deployment: d, modelName: 'm', modelVersion: 9, since: minute })).toEqual([]);
      await expect(m.writeDriftSummaries([{ ...row(minute, 'api-1', 1), minute: minute + 1 }])).rejects.toThrow(/minute/);
      await m.close();
    });

    it('keeps drift checks with their evidence, newest first', async () => {
      const m = await open();
      const d = `d-${randomUUID().slice(0, 8)}`;
      const t0 = Date.now() - 60_000;
      const check = (time: number, verdict: DriftCheckRecord['verdict']): DriftCheckRecord => ({
        time,
        deployment: d,
        modelName: 'm',
        modelVersion: 2,
        verdict,
        kinds: verdict === 'drift' ? ['performance'] : [],
        summary: `${verdict} at ${time}`,
        windowFrames: 300,
        windowStart: time - 1000,
        windowEnd: time,
        covariate: null,
        label: null,
        performance:
          verdict === 'drift'
            ? {
                n: 300,
                liveMeanErrorMm: 40,
                referenceMeanErrorMm: 8,
                liveMedianErrorMm: 35,
                referenceMedianErrorMm: 6,
                errorRatio: 5,
                pValue: 1e-30,
                drifted: true,
              }
            : null,
      });
      await m.writeDriftCheck(check(t0, 'no-drift'));
      await m.writeDriftCheck(check(t0 + 1000, 'drift'));
      await m.writeDriftCheck({ ...check(t0 + 2000, 'no-reference'), modelVersion: null });
      const checks = await m.driftChecks(d);
      expect(checks.map((c) => c.verdict)).toEqual(['no-reference', 'drift', 'no-drift']);
      expect(checks[1]).toEqual(check(t0 + 1000, 'drift'));
      expect((await m.driftChecks(d, { since: t0 + 500, limit: 1 })).map((c) => c.time)).toEqual([t0 + 2000]);
      expect(await m.driftChecks(`${d}-none`)).toEqual([]);
      await m.close();
    });

    describe("the console's reads", () => {
      const driftCheck = (deployment: string, time: number, verdict: DriftCheckRecord['verdict']): DriftCheckRecord => ({
        time,
        deployment,
        modelName: 'm',
        modelVersion: 2,
        verdict,
        kinds: [],
        summary: verdict,
        windowFrames: 10,
        windowStart: time - 1000,
        windowEnd: time,
        covariate: null,
        label: null,
        performance: null,
      });

      it('buckets several deployments at once from `since`, with their newest frame ever and their newest drift check', async () => {
        const m = await open();
        const [a, b, idle] = ['a', 'b', 'idle'].map((x) => `d-${randomUUID().slice(0, 8)}-${x}`);
        const since = 1_700_000_030_500; // not on a minute: buckets start at `since`, not at the epoch's minutes
        const window = { since, until: since + 3 * 60_000, stepMs: 60_000 };
        await m.write([
          // Before the window: only its newest frame counts.
          { ...record(a, since - 1, 0, 0), imageKey: `features/${a}/old.jpg` },
          record(a, since, 100, 110), // error 10, bucket 0
          record(a, since + 59_999, 100, 130), // error 30, bucket 0
          record(a, since + 60_000, null, 90), // unlabelled, bucket 1
          record(a, since + 2 * 60_000 + 5, 200, 200), // error 0, bucket 2
          { ...record(a, since + 3 * 60_000, 1, 1), imageKey: `features/${a}/after.jpg` }, // at `until`: outside, newest
          record(b, since + 2 * 60_000, 50, 60),
        ]);
        await m.writeDriftCheck(driftCheck(a, since - 5000, 'no-drift'));
        await m.writeDriftCheck(driftCheck(a, since - 1000, 'drift'));
        await m.writeDriftCheck(driftCheck(b, since - 3000, 'insufficient-data'));

        const activity = await m.fleetActivity([a, b, idle], window);
        expect([...activity.keys()].sort()).toEqual([a, b, idle].sort());
        expect(activity.get(a)).toEqual({
          points: [
            { time: since, frames: 2, errors: 2, meanError: 20, meanPrediction: 120, meanSensor: 100 },
            { time: since + 60_000, frames: 1, errors: 0, meanError: null, meanPrediction: 90, meanSensor: null },
            { time: since + 120_000, frames: 1, errors: 1, meanError: 0, meanPrediction: 200, meanSensor: 200 },
          ],
          lastFrameAt: since + 3 * 60_000,
          lastDrift: { time: since - 1000, verdict: 'drift' },
        });
        expect(activity.get(b)).toMatchObject({
          points: [{ time: since + 120_000, frames: 1, meanError: 10 }],
          lastFrameAt: since + 2 * 60_000,
          lastDrift: { time: since - 3000, verdict: 'insufficient-data' },
        });
        expect(activity.get(idle)).toEqual({ points: [], lastFrameAt: null, lastDrift: null });
        expect(await m.fleetActivity([], window)).toEqual(new Map());
        // One deployment's series is the same buckets.
        expect(await m.series(a, window)).toEqual(activity.get(a)!.points);
        expect(await m.series(a, { since: since + 60_000, until: since + 61_000, stepMs: 1000 })).toEqual([
          { time: since + 60_000, frames: 1, errors: 0, meanError: null, meanPrediction: 90, meanSensor: null },
        ]);
        await expect(m.series(a, { since, until: since, stepMs: 1000 })).rejects.toThrow(/until > since/);
        await m.close();
      });

      it('lists frames newest first, up to a limit, before a time', async () => {
        const m = await open();
        const d = `d-${randomUUID().slice(0, 8)}`;
        const t0 = 1_700_000_040_000;
        await m.write([
          record(d, t0, 100, 110),
          record(d, t0 + 2, null, 80),
          record(d, t0 + 1, 50, null),
          record(`${d}-other`, t0 + 3, 1, 1),
        ]);
        const frames = await m.recentFrames(d, { limit: 10 });
        expect(frames).toEqual([
          {
            time: t0 + 2,
            client: 'c',
            modelName: 'm',
            modelVersion: 2,
            prediction: 80,
            sensorValue: null,
            error: null,
            latencyMs: 3,
            imageKey: `features/${d}/${t0 + 2}.jpg`,
            sensorStatus: null,
          },
          {
            time: t0 + 1,
            client: 'c',
            modelName: null,
            modelVersion: null,
            prediction: null,
            sensorValue: 50,
            error: null,
            latencyMs: 3,
            imageKey: `features/${d}/${t0 + 1}.jpg`,
            sensorStatus: null,
          },
          {
            time: t0,
            client: 'c',
            modelName: 'm',
            modelVersion: 2,
            prediction: 110,
            sensorValue: 100,
            error: 10,
            latencyMs: 3,
            imageKey: `features/${d}/${t0}.jpg`,
            sensorStatus: null,
          },
        ]);
        expect((await m.recentFrames(d, { limit: 2 })).map((f) => f.time)).toEqual([t0 + 2, t0 + 1]);
        expect((await m.recentFrames(d, { limit: 10, before: t0 + 2 })).map((f) => f.time)).toEqual([t0 + 1, t0]);
        expect(await m.recentFrames(`${d}-none`, { limit: 10 })).toEqual([]);
        await m.close();
      });
    });

    it.runIf(server.restart)('keeps its data and accepts writes again after the server restarts mid-suite', async () => {
      const m = await open();
      const d = `d-${randomUUID().slice(0, 8)}`;
      await m.write([record(d, 1_700_000_000_000, 1, 2)]);
      await server.restart!();
      await m.write([record(d, 1_700_000_001_000, 3, 4)]);
      expect((await m.datasetRows([d])).map((r) => r.sensorValue)).toEqual([1, 3]);
      await m.close();
    });

    describe("a rollout's evidence", () => {
      const [current, candidate] = [2, 3];
      /** A frame answered by one version of `m`, with another version's prediction in shadow unless `shadow` is null. */
      const rolloutFrame = (
        deployment: string,
        time: number,
        answer: { by: number; prediction: number; model?: string },
        sensor: number | null,
        shadow: { by: number; prediction: number | null } | null,
      ): InferenceRecord => {
        const errorOf = (prediction: number | null) => (sensor === null || prediction === null ? null : Math.abs(prediction - sensor));
        return {
          ...record(deployment, time, sensor, answer.prediction),
          imageKey: `features/${deployment}/${time}-${answer.by}.jpg`,
          modelName: answer.model ?? 'm',
          modelVersion: answer.by,
          shadow: shadow && { modelVersion: shadow.by, prediction: shadow.prediction, error: errorOf(shadow.prediction) },
        };
      };
      const query = (deployment: string, since: number, maxPairs = 100) => ({
        deployment,
        modelName: 'm',
        currentVersion: current,
        candidateVersion: candidate,
        since,
        maxPairs,
      });
      /** Pairs as [current, candidate] tuples, in a fixed order so a test does not depend on the store's. */
      const tuples = (pairs: { current: Float64Array; candidate: Float64Array }) =>
        [...pairs.current].map((c, i) => [c, pairs.candidate[i]]).sort((a, b) => a[0] - b[0]);

      it("pairs both versions' errors on the frames both predicted, the current version first whichever answered", async () => {
        const m = await open();
        const d = `d-${randomUUID().slice(0, 8)}`;
        const t0 = Date.now() - 60_000;
        await m.write([
          rolloutFrame(d, t0, { by: current, prediction: 110 }, 100, { by: candidate, prediction: 130 }),
          rolloutFrame(d, t0 + 1, { by: candidate, prediction: 105 }, 100, { by: current, prediction: 140 }),
          rolloutFrame(d, t0 + 2, { by: current, prediction: 207 }, 200, { by: candidate, prediction: 250 }),
        ]);
        const evidence = await m.rolloutEvidence(query(d, t0));
        expect(evidence.pairs.current).toBeInstanceOf(Float64Array);
        expect(tuples(evidence.pairs)).toEqual([
          [7, 50],
          [10, 30],
          [40, 5],
        ]);
        expect(evidence).toMatchObject({ frames: 3, answeredByCandidate: 1, labelled: 3 });
        await m.close();
      });

      it('counts only frames of the deployment and model since the time answered by one of the two versions, and pairs only complete ones', async () => {
        const m = await open();
        const d = `d-${randomUUID().slice(0, 8)}`;
        const t0 = Date.now() - 60_000;
        await m.write([
          rolloutFrame(d, t0, { by: current, prediction: 110 }, 100, { by: candidate, prediction: 130 }),
          // The shadow version could not predict: a frame answered by the current version, no pair.
          rolloutFrame(d, t0 + 1, { by: current, prediction: 120 }, 100, { by: candidate, prediction: null }),
          // No laser reading: answered by the candidate, unlabelled, no pair.
          rolloutFrame(d, t0 + 2, { by: candidate, prediction: 90 }, null, { by: current, prediction: 95 }),
          // Before the rollout's shadow predictions: answered, no pair.
          rolloutFrame(d, t0 + 3, { by: current, prediction: 55 }, 50, null),
          // The shadow is a third version: answered by the current version or the candidate, no pair.
          rolloutFrame(d, t0 + 4, { by: current, prediction: 60 }, 50, { by: 4, prediction: 70 }),
          rolloutFrame(d, t0 + 9, { by: candidate, prediction: 65 }, 50, { by: 4, prediction: 75 }),
          // Nowhere: a third version answered, another deployment, another model, before `since`, no model at all.
          rolloutFrame(d, t0 + 5, { by: 4, prediction: 60 }, 50, { by: current, prediction: 70 }),
          rolloutFrame(`${d}-other`, t0 + 6, { by: current, prediction: 60 }, 50, { by: candidate, prediction: 70 }),
          rolloutFrame(d, t0 + 7, { by: candidate, prediction: 60, model: 'n' }, 50, { by: current, prediction: 70 }),
          rolloutFrame(d, t0 - 1000, { by: current, prediction: 60 }, 50, { by: candidate, prediction: 70 }),
          record(d, t0 + 8, 50, null),
        ]);
        const evidence = await m.rolloutEvidence(query(d, t0));
        expect(evidence).toMatchObject({ frames: 6, answeredByCandidate: 2, labelled: 5 });
        expect(tuples(evidence.pairs)).toEqual([[10, 30]]);
        const none = await m.rolloutEvidence(query(`${d}-none`, t0));
        expect(none).toMatchObject({ frames: 0, answeredByCandidate: 0, labelled: 0 });
        expect(none.pairs.current).toHaveLength(0);
        await m.close();
      });

      it("gives each pair's laser reading, so a rollout can judge the stop band", async () => {
        const m = await open();
        const d = `d-${randomUUID().slice(0, 8)}`;
        const t0 = Date.now() - 60_000;
        await m.write([
          rolloutFrame(d, t0, { by: current, prediction: 50 }, 40, { by: candidate, prediction: 90 }),
          rolloutFrame(d, t0 + 1, { by: candidate, prediction: 310 }, 300, { by: current, prediction: 200 }),
        ]);
        const { pairs } = await m.rolloutEvidence(query(d, t0));
        expect(pairs.readings).toBeInstanceOf(Float64Array);
        const triples = [...pairs.readings].map((r, i) => [r, pairs.current[i], pairs.candidate[i]]).sort((a, b) => a[0] - b[0]);
        expect(triples).toEqual([
          [40, 10, 50],
          [300, 100, 10],
        ]);
        await m.close();
      });

      it('keeps the newest pairs up to the cap, and refuses a cap that is not a positive integer', async () => {
        const m = await open();
        const d = `d-${randomUUID().slice(0, 8)}`;
        const t0 = Date.now() - 60_000;
        await m.write(
          [1, 2, 3, 4].map((i) =>
            rolloutFrame(d, t0 + i, { by: i % 2 ? current : candidate, prediction: 100 + i }, 100, {
              by: i % 2 ? candidate : current,
              prediction: 100 + 10 * i,
            }),
          ),
        );
        const capped = await m.rolloutEvidence(query(d, t0, 2));
        // Frames 3 (current answered: 3 vs 30) and 4 (candidate answered: 40 vs 4).
        expect(tuples(capped.pairs)).toEqual([
          [3, 30],
          [40, 4],
        ]);
        expect(capped).toMatchObject({ frames: 4, answeredByCandidate: 2, labelled: 4 });
        await expect(m.rolloutEvidence(query(d, t0, 0))).rejects.toThrow(/maxPairs/);
        await m.close();
      });
    });
  });
}

export function objectsContract(name: string, open: () => Promise<ObjectStore>, server: ServerControl = {}) {
  describe(`ObjectStore contract: ${name}`, () => {
    it('puts, gets, lists, deletes, and reports missing keys as ObjectNotFoundError', async () => {
      const o = await open();
      const prefix = `t-${randomUUID().slice(0, 8)}`;
      await o.put(`${prefix}/a/1.bin`, Buffer.from('one'));
      await o.put(`${prefix}/a/2.bin`, Buffer.from('two'));
      await o.put(`${prefix}/b.bin`, Buffer.from('three'));
      expect((await o.get(`${prefix}/a/2.bin`)).toString()).toBe('two');
      expect(await o.list(`${prefix}/a/`)).toEqual([`${prefix}/a/1.bin`, `${prefix}/a/2.bin`]);
      expect(await o.exists(`${prefix}/b.bin`)).toBe(true);
      await o.delete(`${prefix}/b.bin`);
      expect(await o.exists(`${prefix}/b.bin`)).toBe(false);
      await expect(o.get(`${prefix}/b.bin`)).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(o.put('../escape', Buffer.from('x'))).rejects.toThrow(/invalid object key/);
      await o.close();
    });

    it('round-trips a large object byte for byte and lets concurrent writers of one key leave a whole object', async () => {
      const o = await open();
      const key = `large/${randomUUID()}.bin`;
      const big = Buffer.alloc(48 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
      await o.put(key, big);
      expect((await o.get(key)).equals(big)).toBe(true);
      const contested = `race/${randomUUID()}.bin`;
      const [x, y] = [Buffer.alloc(1 << 20, 1), Buffer.alloc(1 << 20, 2)];
      await Promise.all([o.put(contested, x), o.put(contested, y)]);
      const got = await o.get(contested);
      expect(got.equals(x) || got.equals(y)).toBe(true);
      await o.close();
    });

    it.runIf(server.restart)('keeps its objects and accepts writes again after the server restarts mid-suite', async () => {
      const o = await open();
      const key = `restart/${randomUUID()}.bin`;
      await o.put(key, Buffer.from('before'));
      await server.restart!();
      expect((await o.get(key)).toString()).toBe('before');
      await o.put(`${key}.after`, Buffer.from('after'));
      expect(await o.list(`${key}`)).toEqual([key, `${key}.after`]);
      await o.close();
    });
  });
}
