/**
 * Faults of the rover's laser, for tests, demos and benchmarks: each wraps edge/laser.ts's healthy reading.
 * `stuck` freezes at the first reading it makes; `offset` and `scale` bias it (a knocked or dirty sensor);
 * `dropouts` loses readings on top of the healthy 2%; `spikes` adds a large jump now and then; `error-codes`
 * and `out-of-range` send values that are no distance (core/sensors/laserSpec.ts).
 */
import type { Rng } from '../core/random.js';
import { LASER_ERROR_CODES, LASER_MAX_MM, LASER_MIN_MM } from '../core/sensors/laserSpec.js';
import type { SensorFaultKind } from '../core/sensors/sensorHealth.js';
import { readLaser, type LaserOptions } from './laser.js';

export type LaserFault =
  | { kind: 'stuck' }
  | { kind: 'offset'; mm: number }
  | { kind: 'scale'; factor: number }
  | { kind: 'dropouts'; rate: number }
  | { kind: 'spikes'; rate: number; mm?: number }
  | { kind: 'error-codes'; rate: number; code?: number }
  | { kind: 'out-of-range'; rate: number };

export type LaserFaultKind = LaserFault['kind'];

export const LASER_FAULT_KINDS: readonly LaserFaultKind[] = [
  'stuck',
  'offset',
  'scale',
  'dropouts',
  'spikes',
  'error-codes',
  'out-of-range',
];

/** The detector of core/sensors/sensorHealth.ts that is meant to find each fault. */
export const DETECTOR_OF: Record<LaserFaultKind, SensorFaultKind> = {
  stuck: 'stuck',
  offset: 'disagrees-with-peers',
  scale: 'disagrees-with-peers',
  dropouts: 'dropouts',
  spikes: 'spikes',
  'error-codes': 'invalid-readings',
  'out-of-range': 'invalid-readings',
};

/** A laser: one reading at the distance it ranges, null when it dropped out. */
export type LaserReader = (rangeMm: number, rng: Rng) => number | null;

const clampToSensor = (mm: number) => Math.min(LASER_MAX_MM, Math.max(LASER_MIN_MM, Math.round(mm)));

/**
 * The laser with a fault (null: healthy, exactly readLaser). The fault's own randomness comes from `faultRng`
 * when given, so a healthy laser's sequence stays as it was.
 */
export function faultyLaser(fault: LaserFault | null, options: LaserOptions = {}, faultRng?: Rng): LaserReader {
  if (!fault) return (rangeMm, rng) => readLaser(rangeMm, rng, options);
  let frozen: number | null = null;
  return (rangeMm, rng) => {
    const chance = faultRng ?? rng;
    const healthy = readLaser(rangeMm, rng, options);
    switch (fault.kind) {
      case 'stuck':
        if (frozen === null) frozen = healthy ?? clampToSensor(rangeMm);
        return healthy === null ? null : frozen;
      case 'offset':
        return healthy === null ? null : clampToSensor(healthy + fault.mm);
      case 'scale':
        return healthy === null ? null : clampToSensor(healthy * fault.factor);
      case 'dropouts':
        return chance.next() < fault.rate ? null : healthy;
      case 'spikes': {
        if (healthy === null || chance.next() >= fault.rate) return healthy;
        const size = fault.mm ?? 400;
        return clampToSensor(healthy - size >= LASER_MIN_MM && chance.next() < 0.5 ? healthy - size : healthy + size);
      }
      case 'error-codes':
        return chance.next() < fault.rate ? (fault.code ?? LASER_ERROR_CODES[0]) : healthy;
      case 'out-of-range':
        return chance.next() < fault.rate ? LASER_MAX_MM + 1 + chance.int(4000) : healthy;
    }
  };
}

/** `stuck`, `offset:20` (mm), `scale:1.1`, `dropouts:0.3`, `spikes:0.1[:400]`, `error-codes:0.2[:8190]`, `out-of-range:0.2`. */
export function parseLaserFault(text: string): LaserFault {
  const [kind, ...args] = text.split(':');
  const numbers = args.map(Number);
  if (numbers.some((n) => !Number.isFinite(n))) throw new Error(`laser fault "${text}": arguments must be numbers`);
  const rate = () => {
    const r = numbers[0];
    if (r === undefined || r < 0 || r > 1) throw new Error(`laser fault "${text}": give a rate in 0..1, e.g. ${kind}:0.2`);
    return r;
  };
  switch (kind) {
    case 'stuck':
      return { kind };
    case 'offset':
      if (numbers[0] === undefined) throw new Error(`laser fault "${text}": give the offset in mm, e.g. offset:20`);
      return { kind, mm: numbers[0] };
    case 'scale':
      if (numbers[0] === undefined || numbers[0] <= 0) throw new Error(`laser fault "${text}": give a positive factor, e.g. scale:1.1`);
      return { kind, factor: numbers[0] };
    case 'dropouts':
      return { kind, rate: rate() };
    case 'spikes':
      return { kind, rate: rate(), ...(numbers[1] !== undefined ? { mm: numbers[1] } : {}) };
    case 'error-codes':
      return { kind, rate: rate(), ...(numbers[1] !== undefined ? { code: numbers[1] } : {}) };
    case 'out-of-range':
      return { kind, rate: rate() };
    default:
      throw new Error(`laser fault "${text}": unknown kind; one of ${LASER_FAULT_KINDS.join(', ')}`);
  }
}

export function describeLaserFault(fault: LaserFault): string {
  switch (fault.kind) {
    case 'stuck':
      return 'stuck';
    case 'offset':
      return `offset ${fault.mm >= 0 ? '+' : ''}${fault.mm} mm`;
    case 'scale':
      return `scale x${fault.factor}`;
    case 'dropouts':
      return `dropouts ${Math.round(fault.rate * 100)}%`;
    case 'spikes':
      return `spikes ${Math.round(fault.rate * 100)}% (${fault.mm ?? 400} mm)`;
    case 'error-codes':
      return `error codes ${Math.round(fault.rate * 100)}%`;
    case 'out-of-range':
      return `out of range ${Math.round(fault.rate * 100)}%`;
  }
}
