import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/random.js';
import { readingStatus } from '../../core/sensors/laserSpec.js';
import { readLaser } from '../../edge/laser.js';
import { faultyLaser, LASER_FAULT_KINDS, parseLaserFault, type LaserFault } from '../../edge/laserFaults.js';

function read(fault: LaserFault | null, rangesMm: number[], seed = 1) {
  const laser = faultyLaser(fault, {}, createRng(seed + 100));
  const rng = createRng(seed);
  return rangesMm.map((mm) => laser(mm, rng));
}

const approach = Array.from({ length: 2000 }, (_, i) => 350 - (i % 35) * 9);
const share = (values: (number | null)[], test: (v: number | null) => boolean) => values.filter(test).length / values.length;

describe('laser faults', () => {
  it('without a fault reads exactly as the healthy laser', () => {
    const rng = createRng(1);
    expect(read(null, approach)).toEqual(approach.map((mm) => readLaser(mm, rng)));
  });

  it('stuck repeats its first reading whatever the distance', () => {
    const values = read({ kind: 'stuck' }, approach).filter((v) => v !== null);
    expect(new Set(values).size).toBe(1);
  });

  it('offset and scale bias every reading, inside the sensor range', () => {
    const healthy = read(null, approach);
    const offset = read({ kind: 'offset', mm: 25 }, approach);
    const scaled = read({ kind: 'scale', factor: 1.2 }, approach);
    healthy.forEach((v, i) => {
      if (v === null) return expect(offset[i]).toBeNull();
      expect(offset[i]).toBe(v + 25);
      expect(scaled[i]).toBe(Math.round(v * 1.2));
    });
    expect(read({ kind: 'offset', mm: -500 }, approach).every((v) => v === null || v === 0)).toBe(true);
  });

  it('dropouts, error codes and out-of-range values come at their rate', () => {
    expect(share(read({ kind: 'dropouts', rate: 0.3 }, approach), (v) => v === null)).toBeCloseTo(0.02 + 0.98 * 0.3, 1);
    const codes = read({ kind: 'error-codes', rate: 0.2 }, approach);
    expect(share(codes, (v) => readingStatus(v) === 'error-code')).toBeCloseTo(0.2, 1);
    const far = read({ kind: 'out-of-range', rate: 0.2 }, approach);
    expect(share(far, (v) => readingStatus(v) === 'out-of-range')).toBeCloseTo(0.2, 1);
    expect(far.every((v) => readingStatus(v) !== 'error-code')).toBe(true);
  });

  it('spikes jump by their size now and then', () => {
    const healthy = read(null, approach);
    const spiky = read({ kind: 'spikes', rate: 0.1, mm: 300 }, approach);
    const jumps = spiky.filter((v, i) => v !== null && Math.abs(v - healthy[i]!) === 300).length;
    expect(jumps / approach.length).toBeGreaterThan(0.07);
    expect(jumps / approach.length).toBeLessThan(0.13);
  });

  it('parses the CLI form of each kind and refuses nonsense', () => {
    expect(parseLaserFault('stuck')).toEqual({ kind: 'stuck' });
    expect(parseLaserFault('offset:-20')).toEqual({ kind: 'offset', mm: -20 });
    expect(parseLaserFault('scale:1.1')).toEqual({ kind: 'scale', factor: 1.1 });
    expect(parseLaserFault('dropouts:0.3')).toEqual({ kind: 'dropouts', rate: 0.3 });
    expect(parseLaserFault('spikes:0.1:250')).toEqual({ kind: 'spikes', rate: 0.1, mm: 250 });
    expect(parseLaserFault('error-codes:0.2:65535')).toEqual({ kind: 'error-codes', rate: 0.2, code: 65535 });
    expect(parseLaserFault('out-of-range:0.2')).toEqual({ kind: 'out-of-range', rate: 0.2 });
    for (const bad of ['wobbly', 'offset', 'dropouts:2', 'scale:0', 'spikes:x']) expect(() => parseLaserFault(bad)).toThrow(/laser fault/);
    expect(LASER_FAULT_KINDS).toHaveLength(7);
  });
});
