import fs from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRollouts } from '../../activities/startRollouts.js';
import type { DeploymentStrategy, RolloutPolicyInput } from '../../core/rollout/rolloutPolicy.js';
import { createOrchestrationWorker } from '../../workers/createWorkers.js';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { rolloutWorkflowIdFor, type RolloutResult } from '../../workflows/rollout/contract.js';
import { ROLLOUT_OUTCOME_ATTRIBUTE } from '../../workflows/shared.js';
import { adminCall, registerUntrainedVersion, startApiOn, type ApiHarness } from '../support/apiHarness.js';
import { openTempStores } from '../support/embeddedStores.js';
import { eventually } from '../support/eventually.js';
import { syntheticFrame } from '../support/syntheticFrames.js';
import { startTemporal } from '../support/temporalEnv.js';

/** Stages that decide within seconds: few frames, no minimum time, a look every second. */
const FAST: RolloutPolicyInput = {
  canaryShare: 0.25,
  shadow: { minFrames: 40, minMinutes: 0, maxMinutes: 3 },
  canary: { minFrames: 40, minMinutes: 0, maxMinutes: 3 },
  checkSeconds: 1,
};
const ROVERS = 8;

/**
 * Rollouts end to end on a real Temporal dev server, the API and the orchestration worker: rovers send frames
 * with laser readings while a candidate is judged against the current version. The versions predict a fixed
 * distance each, so which one is closer to the laser is known: 100 mm is good (readings are 90-110 mm), 150 mm
 * is worse, 250 mm is bad.
 */
describe('rollout', () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;
  let worker: Worker;
  let running: Promise<void>;
  let images: Buffer[];

  const admin = (method: string, route: string, body?: unknown) => adminCall(api.url, method, route, body);

  const startWorker = async () => {
    worker = await createOrchestrationWorker({
      connection: env.nativeConnection,
      namespace: 'default',
      context: {
        stores: api.stores,
        objectsUrl: '',
        mlBackend: 'auto',
        temporal: { client: async () => env.client, ui: { url: 'http://localhost:8233', namespace: 'default' } },
      },
    });
    running = worker.run();
  };

  /** A deployment of `model` with its rovers, serving v1 (predicting `currentMm`) before the candidate exists. */
  const setUp = async (
    model: string,
    strategy: Exclude<DeploymentStrategy, 'direct'>,
    policy: RolloutPolicyInput,
    currentMm: number,
    rovers = ROVERS,
  ) => {
    const deployment = `${model}-fleet`;
    expect((await admin('POST', '/deployments', { id: deployment, modelName: model, strategy, rolloutPolicy: policy })).status).toBe(201);
    const tokens: { id: string; token: string }[] = [];
    for (let i = 0; i < rovers; i++) {
      const created = await admin('POST', '/clients', { id: `${model}-rover-${i}`, deploymentId: deployment });
      tokens.push({ id: created.body.client.id, token: created.body.token });
    }
    await registerUntrainedVersion(api.stores, model, `${model}-v1`, currentMm);
    return { deployment, tokens };
  };

  /** Rovers take turns sending frames (laser reading `readingOf(frame)`) until `until` settles; every answer's client and version. */
  const drive = async <T>(
    tokens: { id: string; token: string }[],
    until: Promise<T>,
    readingOf: (frame: number) => number = (frame) => 90 + (frame % 21),
  ) => {
    const answers: { client: string; version: number }[] = [];
    let done = false;
    const result = until.finally(() => (done = true));
    let frame = 0;
    const lane = async () => {
      while (!done) {
        const rover = tokens[frame++ % tokens.length];
        const form = new FormData();
        form.append('image', new Blob([new Uint8Array(images[frame % images.length])], { type: 'image/jpeg' }), 'frame.jpg');
        form.append('sensor_value', String(readingOf(frame)));
        const res = await fetch(`${api.url}/predict`, { method: 'POST', headers: { authorization: `Bearer ${rover.token}` }, body: form });
        const body = await res.json();
        if (res.status !== 200) throw new Error(`/predict answered ${res.status}: ${JSON.stringify(body)}`);
        answers.push({ client: rover.id, version: body.model.version });
      }
    };
    const lanes = Promise.all([lane(), lane()]);
    const value = await result;
    await lanes;
    return { value, answers };
  };

  const rolloutOf = (model: string, version: number) =>
    startRollouts({
      stores: api.stores,
      objectsUrl: '',
      mlBackend: 'auto',
      temporal: { client: async () => env.client, ui: { url: '', namespace: 'default' } },
    })({
      modelName: model,
      version,
    });
  const resultOf = (deployment: string) =>
    env.client.workflow.getHandle(rolloutWorkflowIdFor(deployment)).result() as Promise<RolloutResult>;
  const history = async (deployment: string) =>
    (await admin('GET', `/deployments/${deployment}/serving-history`)).body.history as {
      reason: string;
      fromVersion: number | null;
      toVersion: number | null;
      note: any;
    }[];

  beforeAll(async () => {
    env = await startTemporal();
    const temp = await openTempStores();
    api = await startApiOn(temp.stores, temp.dir, async () => env.client, {
      api: { registryCacheTtlMs: 200 },
      cleanup: () => temp.cleanup(),
    });
    images = await Promise.all([95, 100, 105].map((mm) => syntheticFrame(mm)));
    await startWorker();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running?.catch(() => undefined);
    await api?.close();
    await env?.teardown();
  });

  /** What the Web UI shows as the run's current details (Temporal's workflow metadata query). */
  const detailsOf = async (deployment: string) =>
    (await env.client.workflow.getHandle(rolloutWorkflowIdFor(deployment)).query(workflowMetadataQuery)).currentDetails;
  /** The Rollouts the Web UI lists for `RolloutOutcome = "<outcome>"` (visibility is eventually consistent). */
  const runsWithOutcome = (outcome: string) =>
    eventually(async () => {
      const ids: string[] = [];
      for await (const run of env.client.workflow.list({ query: `${ROLLOUT_OUTCOME_ATTRIBUTE.name} = "${outcome}"` }))
        ids.push(run.workflowId);
      if (ids.length === 0) throw new Error(`no rollout with outcome ${outcome} listed yet`);
      return ids;
    });

  it('promotes a better candidate through shadow and canary, on paired laser errors, and records every step', async () => {
    const { deployment, tokens } = await setUp('good', 'shadow', FAST, 150);
    await registerUntrainedVersion(api.stores, 'good', 'good-v2', 100);
    expect(await rolloutOf('good', 2)).toEqual([
      { deploymentId: deployment, workflowId: rolloutWorkflowIdFor(deployment), runId: expect.any(String) },
    ]);

    const { value: result, answers } = await drive(tokens, resultOf(deployment));
    expect(result).toMatchObject({ outcome: 'promoted', candidateVersion: 2, currentVersion: 1 });
    expect(result.stages.map((s) => [s.stage, s.verdict])).toEqual([
      ['shadow', 'advance'],
      ['canary', 'advance'],
    ]);
    const [shadow, canary] = result.stages;
    // In shadow the current version answered every frame; the candidate's errors (about 5 mm) beat its (about 50 mm).
    expect(shadow.answeredByCandidate).toBe(0);
    expect(shadow.comparison.pairs).toBeGreaterThanOrEqual(40);
    expect(shadow.comparison.meanErrorCandidate!).toBeLessThan(10);
    expect(shadow.comparison.meanErrorCurrent!).toBeGreaterThan(40);
    // The canary advanced only once its 2 of 8 rovers had been answered by the candidate for their share of 40 frames.
    expect(canary.answeredByCandidate).toBeGreaterThanOrEqual(10);
    expect(answers.some((a) => a.version === 2)).toBe(true);

    expect(await api.stores.registry.getDeployment(deployment)).toMatchObject({ currentVersion: 2, rollout: null });
    // In the Web UI: the run's current details say how it ended, and its outcome finds it.
    expect(await detailsOf(deployment)).toMatch(new RegExp(`^promoted v2 on ${deployment}: shadow: .*; canary: `));
    expect(await runsWithOutcome('promoted')).toContain(rolloutWorkflowIdFor(deployment));
    const steps = await history(deployment);
    expect(steps.map((c) => c.reason)).toEqual(['rollout-promoted', 'rollout-canary', 'rollout-shadow', 'registration', 'created']);
    expect(steps[0]).toMatchObject({ fromVersion: 1, toVersion: 2, note: { outcome: 'promoted' } });
    expect(steps[1].note).toMatchObject({ stage: 'canary', clients: ROVERS, canaryClients: expect.any(Array) });
    expect(steps[1].note.canaryClients).toHaveLength(2);

    // Promoted: every rover gets v2 now, with no shadow.
    const after = await drive(tokens, new Promise((resolve) => setTimeout(resolve, 1500)));
    expect(new Set(after.answers.slice(-8).map((a) => a.version))).toEqual(new Set([2]));
    const rollout = await admin('GET', `/deployments/${deployment}/rollout`);
    expect(rollout.body).toMatchObject({
      currentVersion: 2,
      rollout: null,
      workflow: { status: 'COMPLETED', result: { outcome: 'promoted' } },
    });
  });

  it('rolls back a worse candidate in its canary, whose share of the answers stays at or below the canary share', async () => {
    const { deployment, tokens } = await setUp('bad', 'canary', FAST, 100);
    await registerUntrainedVersion(api.stores, 'bad', 'bad-v2', 250);
    await rolloutOf('bad', 2);

    const { value: result, answers } = await drive(tokens, resultOf(deployment));
    expect(result).toMatchObject({ outcome: 'rolled-back', reason: expect.stringMatching(/^canary: worse than the current version/) });
    expect(await detailsOf(deployment)).toMatch(new RegExp(`^rolled-back v2 on ${deployment}: canary: worse than the current version`));
    expect(await runsWithOutcome('rolled-back')).toContain(rolloutWorkflowIdFor(deployment));
    expect(await runsWithOutcome('promoted')).not.toContain(rolloutWorkflowIdFor(deployment));
    const canaryClients = new Set(answers.filter((a) => a.version === 2).map((a) => a.client));
    expect(canaryClients.size).toBe(2);
    const share = answers.filter((a) => a.version === 2).length / answers.length;
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThanOrEqual(0.25);

    expect(await api.stores.registry.getDeployment(deployment)).toMatchObject({ currentVersion: 1, rollout: null });
    expect((await history(deployment))[0]).toMatchObject({ reason: 'rollout-rolled-back', fromVersion: 2, toVersion: 1 });
    // Rolled back: the canary's rovers are answered by v1 again.
    const after = await drive(tokens, new Promise((resolve) => setTimeout(resolve, 1500)));
    expect(after.answers.slice(-8).every((a) => a.version === 1)).toBe(true);
  });

  it('rolls back a candidate better on average but worse in the stop band, and says so', async () => {
    // A quarter of the frames are near the wall (40 mm), the rest at 300 mm. v1 predicts 100 mm: 60 mm off near the
    // wall, 200 mm off far away; v2 predicts 290 mm: 250 mm off near the wall, 10 mm far away. v2 is better on three
    // frames of four (mean error 95 mm lower) and worse on every frame where the rover stops.
    const policy = { ...FAST, shadow: { minFrames: 100, minMinutes: 0, maxMinutes: 3 } };
    const { deployment, tokens } = await setUp('stops', 'shadow', policy, 100);
    await registerUntrainedVersion(api.stores, 'stops', 'stops-v2', 290);
    await rolloutOf('stops', 2);

    const { value: result, answers } = await drive(tokens, resultOf(deployment), (frame) => (frame % 4 === 0 ? 40 : 300));
    expect(result).toMatchObject({
      outcome: 'rolled-back',
      reason: expect.stringMatching(
        /^shadow: worse than the current version in the stop band \(laser <= 100 mm\): p = .* on \d+ frames, .*, though better on average/,
      ),
    });
    const [shadow] = result.stages;
    const { comparison: all, stopBand } = shadow;
    console.log(
      `stop-band rollout: ${all.pairs} pairs, mean error ${all.meanErrorCurrent!.toFixed(1)} -> ${all.meanErrorCandidate!.toFixed(1)} mm, ` +
        `p(better) = ${all.pCandidateBetter.toPrecision(2)}; stop band ${stopBand!.pairs} pairs, ` +
        `${stopBand!.meanErrorCurrent!.toFixed(1)} -> ${stopBand!.meanErrorCandidate!.toFixed(1)} mm, p(worse) = ${stopBand!.pCandidateWorse.toPrecision(2)}`,
    );
    if (process.env.RECORD_HISTORIES) {
      const recorded = await env.client.workflow.getHandle(rolloutWorkflowIdFor(deployment)).fetchHistory();
      fs.writeFileSync('test/fixtures/histories/rollout-rolled-back-in-stop-band.json', historyToJSON(recorded));
    }
    expect(shadow.comparison.meanDifference!).toBeLessThan(0);
    expect(shadow.comparison.pCandidateBetter).toBeLessThan(0.01);
    expect(shadow.stopBand!.pairs).toBeGreaterThanOrEqual(20);
    expect(shadow.stopBand!.meanDifference!).toBeGreaterThan(0);
    expect(answers.every((a) => a.version === 1)).toBe(true);
    expect(await api.stores.registry.getDeployment(deployment)).toMatchObject({ currentVersion: 1, rollout: null });
    expect((await history(deployment))[0]).toMatchObject({ reason: 'rollout-rolled-back', fromVersion: 2, toVersion: 1 });
  });

  it('gives the canary one of two rovers even when the share rounds down to none: the candidate answers a rover before promotion', async () => {
    const { deployment, tokens } = await setUp('pair', 'canary', { ...FAST, canaryShare: 0.1 }, 150, 2);
    await registerUntrainedVersion(api.stores, 'pair', 'pair-v2', 100);
    await rolloutOf('pair', 2);

    const { value: result, answers } = await drive(tokens, resultOf(deployment));
    expect(result).toMatchObject({ outcome: 'promoted', candidateVersion: 2 });
    const canary = (await history(deployment)).find((c) => c.reason === 'rollout-canary')!;
    expect(canary.note).toMatchObject({ clients: 2, canaryShare: 0.1 });
    expect(canary.note.canaryClients).toHaveLength(1);
    // The canary's rover was answered by the candidate before the promotion (the other one, at most once promoted).
    expect(answers.filter((a) => a.version === 2).map((a) => a.client)).toContain(canary.note.canaryClients[0]);
    expect(result.stages.at(-1)!.answeredByCandidate).toBeGreaterThan(0);
  });

  it('runs an A/B test: half the rovers get the candidate for the whole stage, which is promoted only at its end', async () => {
    const ab = { ...FAST, ab: { share: 0.5, minFrames: 40, minutes: 0.1 } };
    const { deployment, tokens } = await setUp('ab', 'ab', ab, 150);
    await registerUntrainedVersion(api.stores, 'ab', 'ab-v2', 100);
    await rolloutOf('ab', 2);

    const { value: result, answers } = await drive(tokens, resultOf(deployment));
    expect(result).toMatchObject({ outcome: 'promoted', reason: expect.stringMatching(/^ab: better than the current version/) });
    expect(result.stages).toEqual([expect.objectContaining({ stage: 'ab', verdict: 'advance', candidateShare: 0.5 })]);
    const steps = await history(deployment);
    expect(steps.map((c) => c.reason)).toEqual(['rollout-promoted', 'rollout-ab', 'registration', 'created']);
    expect(steps[1].note).toMatchObject({ stage: 'ab', clients: ROVERS, canaryShare: 0.5 });
    // The candidate answered exactly the A/B test's four rovers before the promotion.
    const candidateRovers = new Set(answers.filter((a) => a.version === 2).map((a) => a.client));
    expect([...candidateRovers].filter((c) => steps[1].note.canaryClients.includes(c))).toHaveLength(4);
    expect(await api.stores.registry.getDeployment(deployment)).toMatchObject({ currentVersion: 2, rollout: null });
  });

  it('runs a bandit: rovers move to the better candidate while it learns, each move in the serving history, and it is promoted', async () => {
    const bandit = { ...FAST, bandit: { floorShare: 0.125, minFrames: 80, minMinutes: 0.15, maxMinutes: 3 } };
    const { deployment, tokens } = await setUp('bandit', 'bandit', bandit, 150);
    await registerUntrainedVersion(api.stores, 'bandit', 'bandit-v2', 100);
    await rolloutOf('bandit', 2);

    const { value: result, answers } = await drive(tokens, resultOf(deployment));
    expect(result).toMatchObject({ outcome: 'promoted', reason: expect.stringMatching(/^bandit: better than the current version/) });
    const steps = await history(deployment);
    const moves = steps.filter((c) => c.reason === 'rollout-bandit').reverse();
    expect(steps.map((c) => c.reason)).toEqual(['rollout-promoted', ...moves.map(() => 'rollout-bandit'), 'registration', 'created']);
    // It starts with half the rovers, then moves to all but the floor (one of eight); a move is recorded only when the rovers change.
    expect(moves[0].note).toMatchObject({ stage: 'bandit', clients: ROVERS, canaryClients: expect.any(Array) });
    expect(moves[0].note.canaryClients).toHaveLength(4);
    expect(moves.at(-1)!.note.canaryClients).toHaveLength(7);
    expect(moves.at(-1)!.note.look).toMatchObject({ from: expect.any(Number), to: 7, pairs: expect.any(Number) });
    for (let i = 1; i < moves.length; i++) expect(moves[i].note.canaryClients).not.toEqual(moves[i - 1].note.canaryClients);
    // The candidate answered the rovers the bandit gave it.
    const v2Rovers = new Set(answers.filter((a) => a.version === 2).map((a) => a.client));
    expect(v2Rovers.size).toBeGreaterThanOrEqual(7);
    expect(result.stages).toEqual([expect.objectContaining({ stage: 'bandit', verdict: 'advance', candidateShare: 7 / 8 })]);
    expect(await api.stores.registry.getDeployment(deployment)).toMatchObject({ currentVersion: 2, rollout: null });
  });

  it('rolls back at once a candidate whose artifact cannot be read, and the rovers keep their answers', async () => {
    const { deployment, tokens } = await setUp('broken', 'shadow', FAST, 100);
    const v2 = await registerUntrainedVersion(api.stores, 'broken', 'broken-v2', 90);
    for (const key of await api.stores.objects.list(v2.artifactKey)) await api.stores.objects.delete(key);
    await rolloutOf('broken', 2);

    const { value: result, answers } = await drive(tokens, resultOf(deployment));
    expect(result).toMatchObject({ outcome: 'rolled-back', reason: expect.stringMatching(/the candidate cannot serve/) });
    expect(answers.every((a) => a.version === 1)).toBe(true);
    expect((await history(deployment)).map((c) => c.reason).slice(0, 2)).toEqual(['rollout-rolled-back', 'rollout-shadow']);
  });

  it('lets a newer version replace the candidate of the running rollout: one rollout per deployment', async () => {
    const slow = { ...FAST, shadow: { minFrames: 40, minMinutes: 60, maxMinutes: 120 } };
    const { deployment } = await setUp('newer', 'shadow', slow, 150);
    await registerUntrainedVersion(api.stores, 'newer', 'newer-v2', 120);
    const [first] = await rolloutOf('newer', 2);
    await eventually(async () => expect((await api.stores.registry.getDeployment(deployment))?.rollout?.candidateVersion).toBe(2));
    await registerUntrainedVersion(api.stores, 'newer', 'newer-v3', 100);
    const [second] = await rolloutOf('newer', 3);
    expect(second.workflowId).toBe(first.workflowId);
    await eventually(async () => expect((await api.stores.registry.getDeployment(deployment))?.rollout?.candidateVersion).toBe(3));
    expect((await history(deployment))[0]).toMatchObject({ reason: 'rollout-shadow', fromVersion: 1, toVersion: 3, note: { replaces: 2 } });
    const running = [];
    for await (const run of env.client.workflow.list({ query: `WorkflowId = "${first.workflowId}" AND ExecutionStatus = "Running"` }))
      running.push(run);
    expect(running.length).toBeLessThanOrEqual(1);
    expect((await admin('POST', `/deployments/${deployment}/rollout/abort`, { by: 'test' })).status).toBe(202);
    expect(await resultOf(deployment)).toMatchObject({ outcome: 'aborted', candidateVersion: 3, currentVersion: 1 });
  });

  it("pauses, resumes and aborts on a human's signal, across a restart of the worker", async () => {
    const slow = { ...FAST, shadow: { minFrames: 40, minMinutes: 60, maxMinutes: 120 } };
    const { deployment } = await setUp('manual', 'shadow', slow, 150);
    await registerUntrainedVersion(api.stores, 'manual', 'manual-v2', 100);
    await rolloutOf('manual', 2);
    const state = async () => (await admin('GET', `/deployments/${deployment}/rollout`)).body;
    await eventually(async () =>
      expect(await state()).toMatchObject({ rollout: { stage: 'shadow' }, workflow: { status: 'RUNNING', state: { stage: 'shadow' } } }),
    );

    expect((await admin('POST', `/deployments/${deployment}/rollout/pause`, { by: 'alice' })).status).toBe(202);
    await eventually(async () => expect((await state()).workflow.state.paused).toBe(true));
    // The worker goes away and a new one takes over: the rollout resumes where it was.
    worker.shutdown();
    await running;
    await startWorker();
    expect((await admin('POST', `/deployments/${deployment}/rollout/resume`, {})).status).toBe(202);
    await eventually(async () => expect((await state()).workflow.state.paused).toBe(false));
    expect((await admin('POST', `/deployments/${deployment}/rollout/abort`, { by: 'alice', reason: 'road test failed' })).status).toBe(202);

    expect(await resultOf(deployment)).toMatchObject({ outcome: 'aborted', reason: 'abort by alice: road test failed' });
    expect((await history(deployment))[0]).toMatchObject({ reason: 'rollout-rolled-back', note: { outcome: 'aborted' } });
    expect(await api.stores.registry.getDeployment(deployment)).toMatchObject({ currentVersion: 1, rollout: null });
    expect(await admin('POST', `/deployments/${deployment}/rollout/promote`, {})).toMatchObject({
      status: 409,
      body: { error: { code: 'no_rollout' } },
    });
    expect((await admin('POST', `/deployments/${deployment}/rollout/explode`, {})).status).toBe(400);
    expect((await admin('POST', `/deployments/${deployment}/rollout/abort`, { who: 'x' })).status).toBe(400);
    expect((await admin('GET', '/deployments/no-such/rollout')).status).toBe(404);
  });
});
