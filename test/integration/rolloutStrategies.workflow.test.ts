import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutActivities } from '../../activities/index.js';
import type { StageEntry, StageEvidence, StageStep } from '../../activities/rolloutSteps.js';
import { summarizeDifferences } from '../../core/rollout/bandit.js';
import { firstRanked } from '../../core/rollout/canaryClients.js';
import { comparePaired } from '../../core/rollout/pairedTest.js';
import { rolloutPolicySchema, type DeploymentStrategy, type RolloutPolicyInput } from '../../core/rollout/rolloutPolicy.js';
import { workflowsPath } from '../../workers/createWorkers.js';
import { abortSignal, rolloutStatusQuery, type RolloutInput, type RolloutResult } from '../../workflows/rollout/contract.js';
import { Rollout } from '../../workflows/rollout/workflow.js';
import { eventually } from '../support/eventually.js';
import { startTemporal } from '../support/temporalEnv.js';

/** RECORD_HISTORIES=1 writes the promoted ab and bandit runs' histories to test/fixtures/histories (replay.test.ts replays them). */
const record = async (handle: { fetchHistory: () => Promise<Parameters<typeof historyToJSON>[0]> }, file: string) => {
  if (process.env.RECORD_HISTORIES) fs.writeFileSync(`test/fixtures/histories/${file}`, historyToJSON(await handle.fetchHistory()));
};

const ROVERS = Array.from({ length: 10 }, (_, i) => `rover-${i}`);

/**
 * One deployment as the Rollout's activities see it, with no store: its rovers, the rovers the candidate answers, and
 * the paired laser errors each look finds. `errors(look)` gives both versions' errors on the frames of look `look` (1, 2, ...).
 */
interface World {
  strategy: Exclude<DeploymentStrategy, 'direct'>;
  policy: RolloutPolicyInput;
  errors: (look: number) => { current: number[]; candidate: number[] };
  /** Every stage entry the workflow asked for, in order. */
  entries: (StageStep & { canaryClients: string[] })[];
  canaryClients: string[];
  looks: number;
  finished?: { outcome: string; note: unknown };
}

const worlds = new Map<string, World>();
const worldOf = (input: RolloutInput) => worlds.get(input.deploymentId)!;

/** The Rollout's activities over the worlds: the workflow's decisions are under test, not the stores'. */
const stubActivities: RolloutActivities = {
  planRollout: async (input) => {
    const world = worldOf(input);
    return {
      ok: true,
      currentVersion: 1,
      strategy: world.strategy,
      policy: rolloutPolicySchema.parse(world.policy),
      candidateProblem: null,
    };
  },
  enterRolloutStage: async (input): Promise<StageEntry> => {
    const world = worldOf(input);
    const count = input.stage === 'bandit' ? (input.candidateRovers ?? ROVERS.length / 2) : Math.floor(input.canaryShare * ROVERS.length);
    world.canaryClients = firstRanked(ROVERS, count, input.deploymentId, input.candidateVersion);
    world.entries.push({
      stage: input.stage,
      canaryShare: input.canaryShare,
      candidateRovers: input.candidateRovers,
      look: input.look,
      canaryClients: world.canaryClients,
    });
    return { ok: true, reason: `${input.stage} stage`, canaryClients: world.canaryClients, clients: ROVERS.length };
  },
  checkRolloutStage: async (input): Promise<StageEvidence> => {
    const world = worldOf(input);
    const looks = ++world.looks;
    const current: number[] = [];
    const candidate: number[] = [];
    for (let look = 1; look <= looks; look++) {
      const errors = world.errors(look);
      current.push(...errors.current);
      candidate.push(...errors.candidate);
    }
    const answeredByCandidate = Math.round((current.length * world.canaryClients.length) / ROVERS.length);
    return {
      ongoing: true,
      reason: 'ongoing',
      frames: current.length,
      answeredByCandidate,
      labelled: current.length,
      comparison: comparePaired(current, candidate),
      // The stub's frames are all far from the wall: none in the stop band.
      stopBand: comparePaired([], []),
      differences: summarizeDifferences(current, candidate),
    };
  },
  finishRollout: async (input) => {
    worldOf(input).finished = { outcome: input.outcome, note: input.note };
    return { recorded: true };
  },
};

/** 20 frames a look; the current version errs about `currentMm`, the candidate about `candidateMm` (a few mm of spread each). */
const steady = (currentMm: number, candidateMm: number) => (look: number) => ({
  current: Array.from({ length: 20 }, (_, i) => currentMm + ((i * 7 + look) % 9)),
  candidate: Array.from({ length: 20 }, (_, i) => candidateMm + ((i * 5 + look * 3) % 9)),
});

describe('the Rollout workflow with the ab and bandit strategies (stub activities)', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `rollout-strategies-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    env = await startTemporal();
    worker = await Worker.create({ connection: env.nativeConnection, taskQueue, activities: stubActivities, workflowsPath });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running?.catch(() => undefined);
    await env?.teardown();
  });

  /** Starts a Rollout of v2 on a deployment of its own in `world`. */
  const start = async (world: Omit<World, 'entries' | 'canaryClients' | 'looks'>) => {
    const deploymentId = `dep-${randomUUID().slice(0, 8)}`;
    const state: World = { ...world, entries: [], canaryClients: [], looks: 0 };
    worlds.set(deploymentId, state);
    const handle = await env.client.workflow.start(Rollout, {
      taskQueue,
      workflowId: `rollout-${deploymentId}`,
      args: [{ deploymentId, modelName: 'distance', candidateVersion: 2 }],
    });
    return { handle, world: state, result: () => handle.result() as Promise<RolloutResult> };
  };

  describe('ab', () => {
    /** A 6-second test: looks every second, decided at its end. */
    const AB: RolloutPolicyInput = { ab: { share: 0.5, minFrames: 40, minutes: 0.1 }, checkSeconds: 1 };

    it('gives half the rovers the candidate for the whole stage and promotes a better one only at its end', async () => {
      const { result, world, handle } = await start({ strategy: 'ab', policy: AB, errors: steady(50, 10) });
      const outcome = await result();
      expect(outcome).toMatchObject({ outcome: 'promoted', reason: expect.stringMatching(/^ab: better than the current version/) });
      // One entry: the same five rovers throughout.
      expect(world.entries).toEqual([expect.objectContaining({ stage: 'ab', canaryShare: 0.5 })]);
      expect(world.entries[0].canaryClients).toHaveLength(5);
      expect(world.finished).toMatchObject({ outcome: 'promoted' });
      const [check] = outcome.stages;
      expect(check).toMatchObject({ stage: 'ab', verdict: 'advance', candidateShare: 0.5 });
      // Significantly better long before, yet it waited for the stage's end (6 s).
      const { checks, stageStartedAt } = await handle.query(rolloutStatusQuery);
      expect(checks.slice(0, -1).every((c) => c.verdict === 'wait')).toBe(true);
      expect(checks.slice(0, -1).some((c) => c.comparison.pCandidateBetter < 0.01)).toBe(true);
      expect(check.at - stageStartedAt!).toBeGreaterThanOrEqual(6000);
      await record(handle, 'rollout-ab-promoted.json');
    });

    it('rolls a significantly worse candidate back before the end', async () => {
      const { result, world } = await start({
        strategy: 'ab',
        policy: { ...AB, ab: { share: 0.5, minFrames: 40, minutes: 60 } },
        errors: steady(10, 50),
      });
      expect(await result()).toMatchObject({
        outcome: 'rolled-back',
        reason: expect.stringMatching(/^ab: worse than the current version/),
      });
      expect(world.looks).toBe(2);
      expect(world.finished).toMatchObject({ outcome: 'rolled-back' });
    });

    it('rolls back at the end a candidate not shown better', async () => {
      const { result } = await start({ strategy: 'ab', policy: AB, errors: steady(20, 20) });
      expect(await result()).toMatchObject({ outcome: 'rolled-back', reason: expect.stringMatching(/^ab: not shown better in 0.1 min/) });
    });
  });

  describe('bandit', () => {
    /** Decides after 200 paired frames (10 looks) and 5 seconds; the floor is a tenth of the rovers (one of ten). */
    const BANDIT: RolloutPolicyInput = { bandit: { floorShare: 0.1, minFrames: 200, minMinutes: 0.08, maxMinutes: 5 }, checkSeconds: 1 };

    it('moves rovers to a better candidate while it learns, records a move only when the rovers change, and promotes it', async () => {
      const { result, world, handle } = await start({ strategy: 'bandit', policy: BANDIT, errors: steady(30, 10) });
      const outcome = await result();
      expect(outcome).toMatchObject({ outcome: 'promoted', reason: expect.stringMatching(/^bandit: better than the current version/) });
      const counts = world.entries.map((e) => e.canaryClients.length);
      // It starts with half, then every move is to other rovers than before, toward all but the floor.
      expect(counts[0]).toBe(5);
      expect(counts.at(-1)).toBe(9);
      for (let i = 1; i < counts.length; i++) expect(counts[i]).not.toBe(counts[i - 1]);
      expect(world.entries.slice(1).every((e) => e.look !== undefined && e.stage === 'bandit')).toBe(true);
      expect(world.entries[1].look).toMatchObject({ from: 5, to: counts[1], pairs: expect.any(Number) });
      // The status query's looks carry the candidate's share at each.
      const status = await handle.query(rolloutStatusQuery);
      expect(status.checks.map((c) => c.candidateShare)).toContain(0.9);
      expect(status.checks.every((c) => c.stage === 'bandit')).toBe(true);
      await record(handle, 'rollout-bandit-promoted.json');
    });

    it('moves rovers away from a worse candidate down to the floor, and rolls it back on the paired test', async () => {
      const { result, world } = await start({ strategy: 'bandit', policy: BANDIT, errors: steady(10, 30) });
      expect(await result()).toMatchObject({
        outcome: 'rolled-back',
        reason: expect.stringMatching(/^bandit: worse than the current version/),
      });
      expect(world.entries.map((e) => e.canaryClients.length)).toEqual([5, 1]);
      expect(world.looks).toBe(10);
    });

    it('stops on an abort signal, as a canary does', async () => {
      const { result, handle, world } = await start({
        strategy: 'bandit',
        policy: { ...BANDIT, bandit: { minFrames: 10_000, maxMinutes: 60 } },
        errors: steady(20, 20),
      });
      await eventually(async () => expect(world.looks).toBeGreaterThan(1));
      await handle.signal(abortSignal, { by: 'alice', reason: 'enough' });
      expect(await result()).toMatchObject({ outcome: 'aborted', reason: 'abort by alice: enough' });
      expect(world.finished).toMatchObject({ outcome: 'rolled-back' });
    });
  });
});
