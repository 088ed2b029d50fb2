import { describe, expect, it } from 'vitest';
import { laserRangeMm, readLaser } from '../../edge/laser.js';
import { createRng } from '../../core/random.js';

function readings(trueMm: number, n: number, seed: number, options = {}) {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => readLaser(trueMm, rng, options));
}

function stats(values: number[]) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { mean, sd };
}

describe('laser sensor', () => {
  it('adds ~3% gaussian noise at long range and returns integer millimetres', () => {
    const values = readings(200, 5000, 1, { dropoutRate: 0 }) as number[];
    expect(values.every((v) => Number.isInteger(v))).toBe(true);
    const { mean, sd } = stats(values);
    expect(Math.abs(mean - 200)).toBeLessThan(0.5);
    expect(sd).toBeGreaterThan(5.4);
    expect(sd).toBeLessThan(6.6);
  });

  it('keeps at least 2 mm of noise close to the wall', () => {
    const { sd } = stats(readings(30, 5000, 2, { dropoutRate: 0 }) as number[]);
    expect(sd).toBeGreaterThan(1.8);
    expect(sd).toBeLessThan(2.3);
  });

  it('drops out occasionally', () => {
    const values = readings(150, 10000, 3);
    const dropouts = values.filter((v) => v === null).length / values.length;
    expect(dropouts).toBeGreaterThan(0.01);
    expect(dropouts).toBeLessThan(0.03);
    expect(readings(150, 2000, 4, { dropoutRate: 0 }).includes(null)).toBe(false);
    expect(readings(150, 100, 4, { dropoutRate: 1 }).every((v) => v === null)).toBe(true);
  });

  it('clamps to 0..2000 mm', () => {
    const low = readings(0, 2000, 5, { dropoutRate: 0 }) as number[];
    const high = readings(1995, 2000, 6, { dropoutRate: 0 }) as number[];
    expect(Math.min(...low)).toBe(0);
    expect(Math.max(...high)).toBe(2000);
    expect(Math.min(...low)).toBeGreaterThanOrEqual(0);
    expect(high.some((v) => v < 2000)).toBe(true);
  });
});

describe('laser field of view', () => {
  it('ranges the axis distance head-on and the nearest wall point inside its 25 degree cone at an angle', () => {
    expect(laserRangeMm(300, 0)).toBeCloseTo(300, 9);
    // Within the half-cone the perpendicular is inside the cone.
    expect(laserRangeMm(300, 10)).toBeCloseTo(300 * Math.cos((10 * Math.PI) / 180), 9);
    // At 30 degrees the cone's edge (12.5 degrees off axis) is nearest: ~9% short.
    expect(laserRangeMm(300, -30)).toBeCloseTo((300 * Math.cos(Math.PI / 6)) / Math.cos((17.5 * Math.PI) / 180), 9);
    expect(laserRangeMm(300, 30)).toBeLessThan(275);
    expect(laserRangeMm(300, 30)).toBeGreaterThan(270);
  });
});
