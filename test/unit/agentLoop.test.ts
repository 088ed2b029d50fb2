import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { forwardThrough, RoverAgent, type AgentClient } from '../../edge/agent/agent.js';
import { Outbox } from '../../edge/agent/outbox.js';
import { SimulatedRover } from '../../edge/agent/simulatedRover.js';
import type { PredictInput, PredictResult } from '../../edge/roverClient.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'agent-loop-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const answer = (mm: number): PredictResult => ({
  ok: true,
  status: 200,
  predictionMm: mm,
  deployment: 'd',
  model: { name: 'distance', version: 4 },
  requestId: 'r',
  attempts: 1,
});

/** An API in this process: `predict` decides each frame's answer from the world the rover is in. */
function fakeApi(predict: (input: PredictInput) => Promise<PredictResult>): AgentClient & { frames: number } {
  const api = {
    frames: 0,
    whoAmI: async () => ({ ok: true as const, answer: { client: { id: 'rover-1', name: 'r' }, deployment: null } }),
    reportParkingRun: async () => ({ ok: true as const, status: 201, replayed: false }),
    predict: (input: PredictInput) => {
      api.frames++;
      return predict(input);
    },
  };
  return api;
}

async function agentFor(rover: SimulatedRover, client: AgentClient, mode: 'model' | 'laser', maxInFlight?: number) {
  const outbox = await Outbox.open({ dir, maxBytes: 50_000_000, send: forwardThrough(client) });
  const agent = new RoverAgent({
    clientId: 'rover-1',
    camera: rover.camera,
    laser: rover.laser,
    drive: rover.drive,
    client,
    outbox,
    mode,
    log: pino({ level: 'silent' }),
    secondsPerFrame: rover.secondsPerFrame,
    simulated: rover.simulated,
    maxInFlight,
  });
  return { agent, outbox };
}

const rover = (seed: number, frameIntervalMs = 0) =>
  new SimulatedRover({ preset: 'beige-350', seed, frameIntervalMs, startMm: 300, laser: { dropoutRate: 0 } });

describe('rover agent loop', () => {
  it('steers by fresh predictions in model mode, and stops when the model says the stop zone', async () => {
    const r = rover(1);
    // A model that sees the wall 10 mm nearer than it is: it stops the rover before the laser would.
    const client = fakeApi(async () => answer(r.world.trueMm - 10));
    const { agent } = await agentFor(r, client, 'model');
    const [run] = await agent.drive(1);
    expect(run.report.stopReason).toBe('model');
    expect(run.report.steered.model).toBeGreaterThan(run.report.frames / 2);
    expect(run.report.modelVersion).toBe(4);
    expect(run.report.finalTrueMm).toBeGreaterThan(20);
    expect(run.report.outcome).toBe('early');
  });

  it('steers by the laser when the answers come too late to be fresh (a slow API)', async () => {
    // At the camera's own pace (4 frames/s), so answers do arrive while the rover drives.
    const r = rover(5, 250);
    // Right answers, but 700 ms after their frame: older than the 500 ms a prediction may be to steer by.
    const client = fakeApi(async () => {
      const mm = r.world.trueMm;
      await new Promise((resolve) => setTimeout(resolve, 700));
      return answer(mm);
    });
    const { agent } = await agentFor(r, client, 'model', 8);
    const [run] = await agent.drive(1);
    expect(run.report).toMatchObject({ stopReason: 'laser', steered: { model: 0, stopped: 0 }, modelVersion: 4 });
    expect(run.report.steered.laser).toBe(run.report.frames);
  });

  it('ignores the model in laser mode: the baseline', async () => {
    const r = rover(2);
    const client = fakeApi(async () => answer(5));
    const { agent } = await agentFor(r, client, 'laser');
    const [run] = await agent.drive(1);
    expect(run.report).toMatchObject({ stopReason: 'laser', steered: { model: 0, stopped: 0 } });
    expect(client.frames).toBe(run.report.frames);
  });

  it('never waits for answers: frames beyond the in-flight bound go to the outbox, and it still parks by the laser', async () => {
    const r = rover(3);
    const client = fakeApi(() => new Promise<PredictResult>(() => {}));
    client.reportParkingRun = async () => ({ ok: false, status: null, code: 'timeout', message: 'no answer', attempts: 1 });
    const { agent, outbox } = await agentFor(r, client, 'model', 2);
    const result = await Promise.race([agent.drive(1), new Promise((resolve) => setTimeout(() => resolve('stuck'), 30_000))]);
    expect(result).not.toBe('stuck');
    const [run] = result as Awaited<ReturnType<RoverAgent['drive']>>;
    expect(run.report).toMatchObject({ stopReason: 'laser' });
    expect(client.frames).toBe(2);
    expect(outbox.stats()).toMatchObject({ frames: run.report.frames - 2, runs: 1 });
  });

  it('stops the drive when the camera fails, and says why', async () => {
    const r = rover(4);
    let frames = 0;
    const nextFrame = r.camera.nextFrame;
    r.camera.nextFrame = async (timeoutMs) => {
      if (++frames === 4) throw new Error('camera cable pulled');
      return nextFrame(timeoutMs);
    };
    const { agent } = await agentFor(
      r,
      fakeApi(async () => answer(300)),
      'laser',
    );
    await expect(agent.drive(3)).rejects.toThrow('camera cable pulled');
    expect(r.world.tier).toBe('stop');
  });
});
