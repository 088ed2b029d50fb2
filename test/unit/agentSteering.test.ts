import { describe, expect, it } from 'vitest';
import { steer, type SteeringInput } from '../../edge/agent/steering.js';

const now = 1_000_000;
const laser = (mm: number) => ({ ok: true as const, mm });
const noLaser = { ok: false as const, reason: 'unplugged' as const };
const predicted = (mm: number, ageMs = 100, travelSinceMm = 0) => ({ mm, frameCapturedAt: now - ageMs, travelSinceMm });
const input = (over: Partial<SteeringInput>): SteeringInput => ({
  mode: 'model',
  now,
  laser: laser(300),
  prediction: null,
  freshMs: 500,
  ...over,
});

describe('steering safety rules', () => {
  it('stops when the laser says the wall is in the stop zone, whatever the model says', () => {
    expect(steer(input({ laser: laser(20), prediction: predicted(300) }))).toMatchObject({ tier: 'stop', stop: 'laser' });
    expect(steer(input({ mode: 'laser', laser: laser(5) }))).toMatchObject({ tier: 'stop', stop: 'laser' });
  });

  it('stops when a fresh prediction says the stop zone, whatever the laser says', () => {
    expect(steer(input({ laser: laser(300), prediction: predicted(18) }))).toMatchObject({ tier: 'stop', by: 'model', stop: 'model' });
  });

  it('credits the model with a stop both call at once: the laser only saves the rover when the camera would drive on', () => {
    expect(steer(input({ laser: laser(19), prediction: predicted(17) }))).toMatchObject({ tier: 'stop', by: 'model', stop: 'model' });
    expect(steer(input({ laser: laser(19), prediction: predicted(23) }))).toMatchObject({ tier: 'stop', by: 'laser', stop: 'laser' });
  });

  it('moves a prediction forward by the travel commanded since its frame', () => {
    expect(steer(input({ prediction: predicted(40, 100, 25) }))).toMatchObject({ tier: 'stop', stop: 'model', distanceMm: 15 });
    expect(steer(input({ prediction: predicted(400, 100, 60) }))).toMatchObject({ tier: 'slow', by: 'model', distanceMm: 340 });
  });

  it('steers by a fresh prediction in model mode', () => {
    expect(steer(input({ laser: laser(500), prediction: predicted(90) }))).toEqual({ tier: 'slower', by: 'model', distanceMm: 90 });
  });

  it('steers by the laser when the prediction is stale (a slow or unreachable API) or missing', () => {
    expect(steer(input({ laser: laser(90), prediction: predicted(400, 501) }))).toEqual({ tier: 'slower', by: 'laser', distanceMm: 90 });
    expect(steer(input({ laser: laser(400), prediction: null }))).toEqual({ tier: 'fast', by: 'laser', distanceMm: 400 });
    // A stale prediction cannot stop the rover either.
    expect(steer(input({ laser: laser(200), prediction: predicted(10, 900) }))).toMatchObject({ tier: 'slow', by: 'laser' });
  });

  it('steers by the laser alone in laser mode: the baseline', () => {
    expect(steer(input({ mode: 'laser', laser: laser(400), prediction: predicted(90) }))).toEqual({
      tier: 'fast',
      by: 'laser',
      distanceMm: 400,
    });
    expect(steer(input({ mode: 'laser', laser: laser(400), prediction: predicted(10) }))).toMatchObject({ tier: 'fast', by: 'laser' });
  });

  it('never drives blind: no reading and no fresh prediction means stop', () => {
    expect(steer(input({ laser: noLaser }))).toEqual({ tier: 'stop', by: 'stopped', stop: 'blind', distanceMm: null });
    expect(steer(input({ laser: noLaser, prediction: predicted(300, 600) }))).toMatchObject({ tier: 'stop', stop: 'blind' });
    expect(
      steer(input({ mode: 'laser', laser: { ok: false, reason: 'out-of-range', raw: 8190 }, prediction: predicted(300) })),
    ).toMatchObject({
      tier: 'stop',
      stop: 'blind',
    });
    // With a fresh prediction the model steers on while the laser is away.
    expect(steer(input({ laser: noLaser, prediction: predicted(300) }))).toEqual({ tier: 'slow', by: 'model', distanceMm: 300 });
  });
});
