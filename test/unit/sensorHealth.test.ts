import { describe, expect, it } from 'vitest';
import { DEFAULT_MONITOR_CONFIG, monitorConfigSchema } from '../../core/drift/monitorConfig.js';
import { readingStatus } from '../../core/sensors/laserSpec.js';
import { assessSensorHealth, type SensorFaultKind } from '../../core/sensors/sensorHealth.js';
import { binomialUpperTail, serialSignTest, signTest } from '../../core/sensors/signTests.js';
import type { LaserFault } from '../../edge/laserFaults.js';
import {
  FLEET_PHASES,
  simulateDeployment,
  VARYING_ANGLES_PHASE,
  type SimulatedFrame,
  type SimulatedRover,
} from '../../edge/simulatedFleet.js';

const WINDOW_MS = 5 * 60_000;
/** The serving version's test error the simulated model is near (bench/README.md's v2: 8.5 mm). */
const REFERENCE = { referenceErrorMm: 8.5 };
const config = DEFAULT_MONITOR_CONFIG.sensors;

/** The last 5 minutes of the frames up to `upTo` (epoch ms), as the monitor reads them. */
function windowUpTo(frames: SimulatedFrame[], upTo = Math.max(...frames.map((f) => f.time))) {
  return { deployment: 'deployment-1', frames: frames.filter((f) => f.time <= upTo && f.time > upTo - WINDOW_MS) };
}

const three = (faulty: Partial<SimulatedRover> = {}): SimulatedRover[] => [
  { client: 'rover-a', ...faulty },
  { client: 'rover-b' },
  { client: 'rover-c' },
];

describe('laser spec', () => {
  it('tells distances from missing readings, error codes and values the sensor cannot report', () => {
    expect([0, 20, 350, 2000].map(readingStatus)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect([null, undefined].map(readingStatus)).toEqual(['missing', 'missing']);
    expect([8190, 8191, 65535].map(readingStatus)).toEqual(['error-code', 'error-code', 'error-code']);
    expect([-1, 2001, 5000, Number.NaN, Infinity].map(readingStatus)).toEqual(Array(5).fill('out-of-range'));
  });
});

describe('sign tests', () => {
  it('match the binomial distribution', () => {
    expect(binomialUpperTail(3, 10, 0.5)).toBeCloseTo(0.9453125, 10);
    expect(binomialUpperTail(9, 10, 0.5)).toBeCloseTo(11 / 1024, 12);
    expect(binomialUpperTail(0, 10, 0.3)).toBe(1);
    expect(binomialUpperTail(11, 10, 0.3)).toBe(0);
    // Long windows do not underflow to 0 or overflow past 1.
    expect(binomialUpperTail(600, 1200, 0.02)).toBeGreaterThanOrEqual(0);
    expect(binomialUpperTail(24, 1200, 0.02)).toBeGreaterThan(0.4);
    const t = signTest([1, 2, 3, -1, 5, 6, 7, 8, 9, 10, 0]);
    expect(t).toMatchObject({ positive: 9, negative: 1 });
    expect(t.greater).toBeCloseTo(11 / 1024, 12);
    expect(t.twoSided).toBeCloseTo(22 / 1024, 12);
  });
});

describe('the sign test on correlated frames', () => {
  it('counts runs of equal signs as fewer independent signs, and independent signs as they are', () => {
    // 12 runs of 10 equal signs, 8 positive: as strong as 12 coin flips, not 120.
    const runs = Array.from({ length: 120 }, (_, i) => (Math.floor(i / 10) < 8 ? 1 : -1));
    const correlated = serialSignTest(runs);
    expect(correlated.effectiveN).toBeLessThan(30);
    expect(correlated.twoSided).toBeGreaterThan(0.01);
    expect(signTest(runs).twoSided).toBeLessThan(0.001);
    const alternating = Array.from({ length: 40 }, (_, i) => (i % 7 === 0 ? -1 : 1));
    expect(serialSignTest(alternating).effectiveN).toBe(40);
    expect(serialSignTest(alternating).twoSided).toBeCloseTo(signTest(alternating).twoSided, 12);
  });
});

describe('sensor health config', () => {
  it('defaults every field, so stored monitor configs without it stay valid', () => {
    const parsed = monitorConfigSchema.parse({ windowMinutes: 10 });
    expect(parsed.sensors).toEqual(DEFAULT_MONITOR_CONFIG.sensors);
    expect(parsed.sensors.healthyMinutesToClear).toBeGreaterThan(0);
    expect(monitorConfigSchema.parse({ sensors: { minFrames: 100 } }).sensors.minFrames).toBe(100);
    expect(() => monitorConfigSchema.parse({ sensors: { alpha: 2 } })).toThrow();
  });
});

/**
 * One rover of three gets the fault after 4 healthy minutes (960 frames each); the check reads the last 5 minutes.
 * FRAMES: the stated frames of the faulty rover after the onset within which it is flagged (at 4 frames/s).
 */
const FAULTS: { fault: LaserFault; kind: SensorFaultKind; frames: number }[] = [
  { fault: { kind: 'offset', mm: 20 }, kind: 'disagrees-with-peers', frames: 60 },
  { fault: { kind: 'offset', mm: -20 }, kind: 'disagrees-with-peers', frames: 60 },
  { fault: { kind: 'scale', factor: 1.15 }, kind: 'disagrees-with-peers', frames: 200 },
  { fault: { kind: 'stuck' }, kind: 'stuck', frames: 40 },
  { fault: { kind: 'dropouts', rate: 0.3 }, kind: 'dropouts', frames: 60 },
  { fault: { kind: 'spikes', rate: 0.1 }, kind: 'spikes', frames: 100 },
  { fault: { kind: 'error-codes', rate: 0.2 }, kind: 'invalid-readings', frames: 40 },
  { fault: { kind: 'out-of-range', rate: 0.2 }, kind: 'invalid-readings', frames: 40 },
];

describe('assessSensorHealth: one faulty rover of three', () => {
  const healthyFrames = 960;
  for (const { fault, kind, frames } of FAULTS) {
    it(`flags ${JSON.stringify(fault)} as ${kind} within ${frames} frames, and nobody else`, () => {
      const all = simulateDeployment({ rovers: three({ fault, faultFromFrame: healthyFrames }), frames: healthyFrames + frames, seed: 7 });
      const onset = all.find((f) => f.faulty)!.time;
      const health = assessSensorHealth(windowUpTo(all, all.at(-1)!.time), config, REFERENCE);
      expect(health.map((h) => [h.client, h.status])).toEqual([
        ['rover-a', 'suspect'],
        ['rover-b', 'healthy'],
        ['rover-c', 'healthy'],
      ]);
      const [a] = health;
      expect(a.kinds).toContain(kind);
      expect(a.summary).toMatch(/^suspect since /);
      // The onset is estimated within a few seconds (spikes: the first spike seen, a random number of frames later).
      expect(Math.abs(a.since! - onset)).toBeLessThanOrEqual((kind === 'spikes' ? 25 : 15) * 250);
      // ...and the same rover was healthy before the onset.
      const before = assessSensorHealth(windowUpTo(all, onset - 1), config, REFERENCE);
      expect(before.every((h) => h.status === 'healthy')).toBe(true);
    });
  }
});

describe('assessSensorHealth: nobody flagged', () => {
  it('healthy rovers (3% noise, 2% dropouts), a full 5-minute window, several seeds', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const health = assessSensorHealth(windowUpTo(simulateDeployment({ rovers: three(), frames: 1200, seed })), config, REFERENCE);
      expect(health.map((h) => h.status)).toEqual(['healthy', 'healthy', 'healthy']);
    }
  });

  for (const [id, phase] of Object.entries(FLEET_PHASES)) {
    it(`a whole-deployment shift, every rover alike: ${phase.name}`, () => {
      const health = assessSensorHealth(
        windowUpTo(simulateDeployment({ rovers: three(), frames: 1200, phase, seed: 11 })),
        config,
        REFERENCE,
      );
      expect(health.map((h) => [h.client, h.status, h.kinds])).toEqual([
        ['rover-a', 'healthy', []],
        ['rover-b', 'healthy', []],
        ['rover-c', 'healthy', []],
      ]);
      expect(id).toBeTruthy();
    });
  }

  it('frames every rover sends without a reading (unlabelled probes, a client that stops sending them) are no dropouts', () => {
    // The demo's probes: after a registration every rover sends unlabelled frames until the new version answers.
    const frames = simulateDeployment({ rovers: three(), frames: 1200, seed: 7 });
    const probed = frames.map((f) => (f.index >= 1060 && f.index % 6 === 0 ? { ...f, sensorValue: null } : f));
    const health = assessSensorHealth(windowUpTo(probed), config, REFERENCE);
    expect(health.map((h) => [h.client, h.status, h.kinds])).toEqual([
      ['rover-a', 'healthy', []],
      ['rover-b', 'healthy', []],
      ['rover-c', 'healthy', []],
    ]);
    // The same burst on one rover only is its laser.
    const one = frames.map((f) => (f.client === 'rover-a' && f.index >= 1060 && f.index % 3 === 0 ? { ...f, sensorValue: null } : f));
    expect(assessSensorHealth(windowUpTo(one), config, REFERENCE).map((h) => h.kinds)).toEqual([['dropouts'], [], []]);
  });

  it('approach angles that differ between rovers run by run, the model not drifted', () => {
    for (const seed of [21, 22, 23]) {
      const frames = simulateDeployment({ rovers: three(), frames: 1200, phase: VARYING_ANGLES_PHASE, seed });
      expect(assessSensorHealth(windowUpTo(frames), config, REFERENCE).map((h) => h.status)).toEqual(['healthy', 'healthy', 'healthy']);
    }
  });

  it('one rover on a floor its peers have not reached yet is not compared with them', () => {
    for (const phase of ['green-350', 'checker-350', 'red-350', 'green-angled-350']) {
      const rovers = three({ phase: FLEET_PHASES[phase] });
      const health = assessSensorHealth(windowUpTo(simulateDeployment({ rovers, frames: 1200, seed: 12 })), config, REFERENCE);
      expect(health.map((h) => h.status)).toEqual(['healthy', 'healthy', 'healthy']);
      expect(health[0].evidence.matchedFrames).toBe(0);
    }
  });

  it('an offset rover among peers whose own error left the model (the deployment drifted) is not judged by them', () => {
    const rovers = three({ fault: { kind: 'offset', mm: 40 } });
    const frames = simulateDeployment({ rovers, frames: 600, phase: FLEET_PHASES['checker-350'], seed: 13 });
    const health = assessSensorHealth(windowUpTo(frames), config, REFERENCE);
    expect(health[0].status).toBe('healthy');
    expect(health[0].evidence.peers).toBe('peers disagree with the model');
    // With the version's own error unknown the peers are trusted, and the offset shows.
    expect(assessSensorHealth(windowUpTo(frames), config, { referenceErrorMm: null })[0].kinds).toEqual(['disagrees-with-peers']);
  });

  it('takes the sensors group as stored: defaults for what it lacks, an error for what is out of range', () => {
    const frames = windowUpTo(simulateDeployment({ rovers: three(), frames: 60, seed: 16 }));
    expect(assessSensorHealth(frames, null, REFERENCE).map((h) => h.status)).toEqual(['healthy', 'healthy', 'healthy']);
    expect(assessSensorHealth(frames, { minFrames: 100 }, REFERENCE).map((h) => h.status)).toEqual(Array(3).fill('insufficient-data'));
    expect(() => assessSensorHealth(frames, { alpha: 3 }, REFERENCE)).toThrow();
  });

  it('a rover with too few frames is insufficient-data, judged by nothing', () => {
    const frames = simulateDeployment({ rovers: three({ fault: { kind: 'error-codes', rate: 1 } }), frames: 30, seed: 14 });
    const health = assessSensorHealth(windowUpTo(frames), config, REFERENCE);
    expect(health.map((h) => h.status)).toEqual(['insufficient-data', 'insufficient-data', 'insufficient-data']);
    expect(health[0]).toMatchObject({ frames: 30, kinds: [], since: null });
  });

  it('a laser at its maximum (nothing in range) is not stuck', () => {
    const frames = simulateDeployment({ rovers: three(), frames: 400, seed: 15 }).map((f) =>
      f.client === 'rover-a' ? { ...f, sensorValue: 2000, prediction: 1500 + (f.index % 40) * 10 } : f,
    );
    expect(assessSensorHealth(windowUpTo(frames), config, REFERENCE)[0].kinds).not.toContain('stuck');
  });
});
