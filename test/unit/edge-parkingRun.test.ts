import { describe, expect, it } from 'vitest';
import { runParking, type EdgeFrame, type FrameResult, type SendOutcome } from '../../edge/parkingRun.js';
import { speedTier } from '../../edge/speedTiers.js';
import { eventually } from '../support/eventually.js';

const echoSensor = async (frame: EdgeFrame): Promise<SendOutcome> => ({ ok: true, predictionMm: frame.sensorMm ?? frame.trueMm });

describe('parking-run driver', () => {
  it('uses the thesis speed tiers', () => {
    expect([1000, 351, 350, 101, 100, 21, 20, 0].map(speedTier)).toEqual([
      'fast',
      'fast',
      'slow',
      'slow',
      'slower',
      'slower',
      'stop',
      'stop',
    ]);
  });

  it('reads through a laser fault when given one, and as before without', async () => {
    const healthy = await runParking({ preset: 'beige-250', startMm: 250, seed: 4, send: echoSensor });
    const again = await runParking({ preset: 'beige-250', startMm: 250, seed: 4, send: echoSensor, laserFault: undefined });
    expect(again.results.map((r) => r.sensorMm)).toEqual(healthy.results.map((r) => r.sensorMm));
    const offset = await runParking({
      preset: 'beige-250',
      startMm: 250,
      seed: 4,
      send: echoSensor,
      laserFault: { kind: 'offset', mm: 30 },
    });
    const first = offset.results[0];
    expect(first.sensorMm! - healthy.results[0].sensorMm!).toBe(30);
    const codes = await runParking({
      preset: 'beige-250',
      startMm: 250,
      seed: 4,
      send: echoSensor,
      laserFault: { kind: 'error-codes', rate: 1 },
    });
    expect(codes.results.slice(0, 5).map((r) => r.sensorMm)).toEqual([8190, 8190, 8190, 8190, 8190]);
  });

  it('drives a 250 mm run in about 25 frames and stops near the wall', async () => {
    const run = await runParking({ preset: 'beige-250', startMm: 250, seed: 4, send: echoSensor });
    expect(run.frames).toBeGreaterThanOrEqual(22);
    expect(run.frames).toBeLessThanOrEqual(30);
    expect(run.sent).toBe(run.frames);
    expect(run.answered).toBe(run.frames);
    expect(run.collided).toBe(false);
    expect(run.results.at(-1)!.tier).toBe('stop');
    expect(run.finalTrueMm).toBeGreaterThan(5);
    expect(run.finalTrueMm).toBeLessThan(35);
    const trueMm = run.results.map((r) => r.trueMm);
    for (let i = 1; i < trueMm.length; i++) {
      const step = trueMm[i - 1] - trueMm[i];
      expect(step).toBeGreaterThan(0);
      // slow tier ~15 mm per frame above 100 mm, slower ~6 mm below.
      if (trueMm[i - 1] > 130) expect(step).toBeGreaterThan(10);
      if (trueMm[i - 1] < 80) expect(step).toBeLessThan(9);
    }
  });

  it('starts near the top of the preset range and takes ~30 frames from 350 mm', async () => {
    const run = await runParking({ preset: 'green-angled-350', seed: 9, send: echoSensor });
    expect(run.startMm).toBeGreaterThanOrEqual(315);
    expect(run.startMm).toBeLessThanOrEqual(350);
    expect(Math.abs(run.angleDeg)).toBeLessThanOrEqual(30);
    expect(run.frames).toBeGreaterThan(26);
    expect(run.frames).toBeLessThan(38);
  });

  it('keeps rendering while a slow send (1 s) is in flight and respects the in-flight bound', async () => {
    const events: string[] = [];
    let inFlight = 0;
    let maxSeen = 0;
    const slowSend = async (frame: EdgeFrame): Promise<SendOutcome> => {
      inFlight++;
      maxSeen = Math.max(maxSeen, inFlight);
      events.push(`send ${frame.index}`);
      await new Promise((r) => setTimeout(r, 1000));
      inFlight--;
      events.push(`answer ${frame.index}`);
      return { ok: true, predictionMm: frame.trueMm };
    };
    const run = await runParking({
      preset: 'beige-250',
      startMm: 250,
      send: slowSend,
      maxInFlight: 2,
      onBackpressure: 'drop',
      onFrame: (r: FrameResult) => events.push(`frame ${r.index}`),
    });
    expect(run.frames).toBeGreaterThan(20);
    expect(maxSeen).toBe(2);
    // The loop went on rendering (and dropping frames at the bound) while the first sends were pending.
    const beforeFirstAnswer = events.slice(0, events.indexOf('answer 0')).filter((e) => e.startsWith('frame')).length;
    expect(beforeFirstAnswer).toBeGreaterThanOrEqual(6);
    expect(run.sent + run.skipped).toBe(run.frames);
    expect(run.skipped).toBeGreaterThanOrEqual(4);
    expect(run.answered).toBe(run.sent);
  });

  it('waits for a free slot by default when not realtime, never exceeding the bound', async () => {
    let inFlight = 0;
    let maxSeen = 0;
    let started = 0;
    const releases: Array<() => void> = [];
    const heldSend = (frame: EdgeFrame): Promise<SendOutcome> => {
      inFlight++;
      started++;
      maxSeen = Math.max(maxSeen, inFlight);
      return new Promise((resolve) =>
        releases.push(() => {
          inFlight--;
          resolve({ ok: true, predictionMm: frame.trueMm });
        }),
      );
    };
    const frames: number[] = [];
    const done = runParking({ preset: 'beige-250', startMm: 250, send: heldSend, maxInFlight: 3, onFrame: (r) => frames.push(r.index) });
    // Held answers: the loop rendered the frames it could send and is waiting for a slot.
    await eventually(() => expect(started).toBe(3), { intervalMs: 20 });
    expect(frames.length).toBeLessThanOrEqual(3);
    const pump = setInterval(() => releases.shift()?.(), 1);
    const run = await done;
    clearInterval(pump);
    expect(maxSeen).toBe(3);
    expect(run.sent).toBe(run.frames);
    expect(run.skipped).toBe(0);
  });

  it('steers by the latest prediction when asked (and crashes on a model that overestimates)', async () => {
    const overestimate = async (frame: EdgeFrame): Promise<SendOutcome> => ({ ok: true, predictionMm: frame.trueMm + 60 });
    const bySensor = await runParking({ preset: 'beige-250', startMm: 250, seed: 2, send: overestimate, steerBy: 'sensor' });
    const byPrediction = await runParking({ preset: 'beige-250', startMm: 250, seed: 2, send: overestimate, steerBy: 'prediction' });
    expect(bySensor.collided).toBe(false);
    expect(bySensor.results.every((r) => r.steeredBy !== 'prediction')).toBe(true);
    expect(byPrediction.results.some((r) => r.steeredBy === 'prediction')).toBe(true);
    expect(byPrediction.collided).toBe(true);
    expect(byPrediction.finalTrueMm).toBe(0);
    expect(bySensor.meanAbsErrorMm).toBeGreaterThan(40);
  });

  it('counts errors by code and measures prediction error against the laser', async () => {
    let n = 0;
    const mixed = async (frame: EdgeFrame): Promise<SendOutcome> => {
      n++;
      if (n % 3 === 0) return { ok: false, code: 'no_model' };
      if (n % 5 === 0) throw new Error('boom');
      return { ok: true, predictionMm: (frame.sensorMm ?? 0) + 5 };
    };
    const run = await runParking({ preset: 'red-350', seed: 3, send: mixed });
    expect(run.errors.no_model).toBe(Math.floor(run.frames / 3));
    expect(run.errors.send_failed).toBeGreaterThan(0);
    expect(run.answered + run.errors.no_model + run.errors.send_failed).toBe(run.frames);
    expect(run.meanAbsErrorMm).toBeCloseTo(5, 6);
    expect(run.maxAbsErrorMm).toBeCloseTo(5, 6);
  });

  it('keeps driving by the laser while the API refuses every frame as overloaded', async () => {
    const refusing = async (): Promise<SendOutcome> => ({ ok: false, code: 'overloaded' });
    const run = await runParking({ preset: 'beige-250', startMm: 250, seed: 4, send: refusing, steerBy: 'prediction' });
    expect(run.errors).toEqual({ overloaded: run.frames });
    expect(run.results.at(-1)!.tier).toBe('stop');
    expect(run.collided).toBe(false);
  });
});
