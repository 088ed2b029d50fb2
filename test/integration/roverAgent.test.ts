/**
 * The rover agent end to end against the real API (in this process), on the simulated rover: the real VL53L0X driver
 * on the simulated register map, the renderer as the camera, the simulated drive. The API goes away behind a proxy.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../api/auth.js';
import { forwardThrough, RoverAgent, type AgentClient } from '../../edge/agent/agent.js';
import { Outbox } from '../../edge/agent/outbox.js';
import { SimulatedRover } from '../../edge/agent/simulatedRover.js';
import { RoverClient, type PredictInput, type PredictResult } from '../../edge/roverClient.js';
import { frameIdOf } from '../../core/stores/objectKeys.js';
import { registerUntrainedVersion, startApi, type ApiHarness } from '../support/apiHarness.js';
import { eventually } from '../support/eventually.js';
import { SwitchableProxy } from '../support/switchableProxy.js';

const noTemporal = () => Promise.reject(new Error('Temporal is not part of this test'));
const ROVER = { id: 'rover-1', token: 'rover-1-token' };
const log = pino({ level: process.env.AGENT_TEST_LOG ?? 'silent' });

let api: ApiHarness;
let proxy: SwitchableProxy;
let scratch: string;

beforeAll(async () => {
  api = await startApi(noTemporal);
  await api.stores.registry.createDeployment({ id: 'served', modelName: 'distance', modelVersion: 'latest', strategy: 'direct' });
  await api.stores.registry.createClient({ id: ROVER.id, name: ROVER.id, tokenHash: hashToken(ROVER.token), deploymentId: 'served' });
  // A model that always says 300 mm: fresh answers steer the rover slowly, and only the laser can stop it.
  await registerUntrainedVersion(api.stores, 'distance', 'agent-run', 300);
  const { port } = new URL(api.url);
  proxy = new SwitchableProxy({ host: '127.0.0.1', port: Number(port) });
  await proxy.up();
  scratch = await mkdtemp(path.join(tmpdir(), 'rover-agent-'));
});

afterAll(async () => {
  await proxy?.down();
  await api?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** The rover's client, recording every answer it got per idempotency key. */
function recordingClient() {
  const client = new RoverClient({
    apiUrl: proxy.url,
    clientId: ROVER.id,
    token: ROVER.token,
    timeoutMs: 5000,
    retries: 0,
    retryAfterBudgetMs: 2000,
  });
  const answers = new Map<string, PredictResult[]>();
  const recording: AgentClient = {
    whoAmI: () => client.whoAmI(),
    reportParkingRun: (report) => client.reportParkingRun(report),
    async predict(input: PredictInput) {
      const result = await client.predict(input);
      const key = input.idempotencyKey ?? '';
      answers.set(key, [...(answers.get(key) ?? []), result]);
      return result;
    },
  };
  return { client: recording, answers };
}

async function agentOn(rover: SimulatedRover, name: string, options: { maxBytes?: number; blindTimeoutMs?: number } = {}) {
  const { client, answers } = recordingClient();
  const dir = path.join(scratch, name, 'outbox');
  const outbox = await Outbox.open({
    dir,
    maxBytes: options.maxBytes ?? 100_000_000,
    send: forwardThrough(client),
    log: (event, fields) => log.info(fields, event),
  });
  const agent = new RoverAgent({
    clientId: ROVER.id,
    camera: rover.camera,
    laser: rover.laser,
    drive: rover.drive,
    client,
    outbox,
    mode: 'model',
    log,
    secondsPerFrame: rover.secondsPerFrame,
    simulated: rover.simulated,
    whoAmIDeadlineMs: 2000,
    blindTimeoutMs: options.blindTimeoutMs,
    healthFile: path.join(scratch, name, 'health.json'),
  });
  return { agent, outbox, answers, dir, client };
}

describe('rover agent against the real API', () => {
  it('API down: the rover steers by the laser, parks, and keeps every frame for later', async () => {
    await proxy.down();
    try {
      const rover = new SimulatedRover({ preset: 'beige-250', seed: 11, laser: { dropoutRate: 0 } });
      const { agent, outbox } = await agentOn(rover, 'api-down');
      const [run] = await agent.drive(1);
      expect(run.report).toMatchObject({ mode: 'model', stopReason: 'laser', simulated: true, preset: 'beige-250' });
      expect(run.report.steered).toEqual({ model: 0, laser: run.report.frames, stopped: 0 });
      expect(run.report.outcome).not.toBe('hit');
      expect(run.reported).toBe('outbox');
      expect(outbox.stats()).toMatchObject({ frames: run.report.frames, runs: 1, dropped: 0 });
      console.log(
        `api down: ${run.report.frames} frames by the laser, final ${run.report.finalTrueMm?.toFixed(1)} mm (${run.report.outcome})`,
      );
    } finally {
      await proxy.up();
    }
  });

  it('laser unplugged and no prediction: the rover stops where it is and gives the run up as blind', async () => {
    await proxy.down();
    try {
      const rover = new SimulatedRover({ preset: 'beige-350', seed: 12, startMm: 330, laser: { dropoutRate: 0 } });
      let frames = 0;
      let unpluggedAtMm: number | null = null;
      const nextFrame = rover.camera.nextFrame.bind(rover.camera);
      rover.camera.nextFrame = async (timeoutMs) => {
        const frame = await nextFrame(timeoutMs);
        if (++frames === 5) {
          rover.sensor.unplug();
          unpluggedAtMm = rover.world.trueMm;
        }
        return frame;
      };
      const { agent } = await agentOn(rover, 'laser-unplugged', { blindTimeoutMs: 1500 });
      const [run] = await agent.drive(1);
      expect(unpluggedAtMm).not.toBeNull();
      expect(unpluggedAtMm!).toBeLessThan(330);
      expect(run.report.stopReason).toBe('blind');
      expect(run.report.steered).toMatchObject({ model: 0, laser: 4 });
      expect(run.report.steered.stopped).toBeGreaterThanOrEqual(2);
      // It did not move a millimetre after the frame that found the laser gone.
      expect(rover.world.trueMm).toBe(unpluggedAtMm);
      expect(rover.world.tier).toBe('stop');
      expect(run.report.finalLaserMm).toBeNull();
    } finally {
      await proxy.up();
    }
  });

  it('API down for 60 s mid-run: after it returns every frame is stored exactly once', async () => {
    const rover = new SimulatedRover({ preset: 'beige-350', seed: 13 });
    const { agent, outbox, answers, dir, client } = await agentOn(rover, 'outage');
    const driving = agent.drive(1000);

    const stored = async () =>
      (await api.stores.measurements.recentFrames('served', { limit: 100_000 })).filter((f) => f.client === ROVER.id);
    await eventually(async () => expect((await stored()).length).toBeGreaterThanOrEqual(8), { timeoutMs: 60_000 });
    // First the answers get lost (the API stored those frames, the rover cannot know), then the API is gone.
    proxy.loseAnswers = true;
    const lostAnswers = () => [...answers.values()].filter((results) => results.some((r) => !r.ok && r.code === 'network_error')).length;
    await eventually(() => expect(lostAnswers()).toBeGreaterThanOrEqual(3), { timeoutMs: 60_000 });
    const lost = lostAnswers();
    await proxy.down();
    const downAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 60_000));
    const keptDuringOutage = outbox.stats();
    await proxy.up();
    const upAt = Date.now();
    expect(keptDuringOutage.frames).toBeGreaterThan(100);

    // Drive on until the outbox is empty, then some more live frames.
    await eventually(() => expect(outbox.stats()).toMatchObject({ frames: 0, runs: 0 }), { timeoutMs: 240_000, intervalMs: 1000 });
    const drainedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    agent.abort();
    const runs = await driving;
    // Frames of the last moments (beyond the in-flight bound) wait for the next start of the agent: that is now.
    const restarted = await Outbox.open({ dir, maxBytes: 100_000_000, send: forwardThrough(client) });
    restarted.start();
    await eventually(() => expect(restarted.stats()).toMatchObject({ frames: 0, runs: 0 }));
    await restarted.stop();
    const frames = runs.reduce((sum, run) => sum + run.report.frames, 0);

    // Every frame the rover took was sent, and each key was answered with one request id however often it went.
    expect(answers.size).toBe(frames);
    const requestIdOf = new Map<string, string>();
    for (const [key, results] of answers) {
      const ids = new Set(results.flatMap((r) => (r.ok ? [r.requestId] : [])));
      expect(ids.size, `key ${key}: ${JSON.stringify(results)}`).toBe(1);
      requestIdOf.set(key, [...ids][0]);
    }
    const expectedIds = [...requestIdOf.values()].sort();
    expect(new Set(expectedIds).size).toBe(frames);

    // The measurement store holds each of them exactly once.
    const storedIds = await eventually(
      async () => {
        const ids = (await stored()).map((f) => frameIdOf('served', f.imageKey ?? '') ?? `unexpected:${f.imageKey}`);
        expect(ids.length).toBeGreaterThanOrEqual(frames);
        return ids;
      },
      { timeoutMs: 60_000 },
    );
    expect(storedIds.sort()).toEqual(expectedIds);
    expect(outbox.stats().dropped).toBe(0);

    // Every run's report reached the API once, also those of runs that ended while it was away.
    expect(runs.filter((run) => run.reported === 'outbox').length).toBeGreaterThan(0);
    const reported = await api.stores.registry.listParkingRuns({ client: ROVER.id, limit: 1000 });
    expect(reported.map((run) => run.runId).sort()).toEqual(runs.map((run) => run.report.runId).sort());
    expect(reported.every((run) => run.deployment === 'served' && run.simulated)).toBe(true);

    // Frames kept while the API was away are dated when they were taken, not when they arrived.
    const storedFrames = await stored();
    const duringOutage = storedFrames.filter((f) => f.time > downAt + 1000 && f.time < upAt - 1000);
    expect(duringOutage.length).toBeGreaterThan(100);
    const resent = [...answers.values()].filter((results) => results.length > 1).length;
    const replayed = [...answers.values()].filter((results) => results.some((r) => r.ok && r.replayed)).length;
    // The frames whose answer was lost were stored then: sent again, they are answered as what they were.
    expect(replayed).toBeGreaterThanOrEqual(lost);
    console.log(
      `outage: ${runs.length} runs, ${frames} frames, ${keptDuringOutage.frames} kept during 60 s (${keptDuringOutage.bytes} bytes), ` +
        `${resent} keys sent more than once (${lost} after a lost answer; ${replayed} answered as replays), outbox drained ${((drainedAt - upAt) / 1000).toFixed(1)} s after the API returned`,
    );
  }, 600_000);
});
