import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applySensorHealth, CLEARED_BY_HEALTH } from '../../control/sensorFaults.js';
import type { RoverSensorHealth } from '../../core/sensors/sensorHealth.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';

const rover = (client: string, status: RoverSensorHealth['status'], since: number | null = null): RoverSensorHealth => ({
  client,
  frames: 500,
  withReading: 490,
  status,
  kinds: status === 'suspect' ? ['stuck'] : [],
  since,
  evidence: { stuckRun: status === 'suspect' ? 40 : 0 },
  summary: status,
});

/** What a sensor check does to the registry: flag suspects, keep their faults while unsure, clear them once healthy long enough. */
describe('applySensorHealth', () => {
  let t: TempStores;
  beforeEach(async () => {
    t = await openTempStores();
  });
  afterEach(async () => t.cleanup());
  const MINUTE = 60_000;

  it('flags a suspect rover once, updates it while suspect, and clears it only after the stated healthy time', async () => {
    const { registry } = t.stores;
    const t0 = Date.now();
    const options = (now: number) => ({ now, healthyMinutesToClear: 10 });
    const first = await applySensorHealth(registry, 'd', [rover('a', 'suspect', t0 - 30_000), rover('b', 'healthy')], options(t0));
    expect(first).toMatchObject({ flagged: [expect.any(Number)], updated: [], cleared: [] });
    const [fault] = await registry.listSensorFaults({ deployment: 'd', open: true });
    expect(fault).toMatchObject({ client: 'a', since: new Date(t0 - 30_000).toISOString(), kinds: ['stuck'] });

    expect(await applySensorHealth(registry, 'd', [rover('a', 'suspect', t0)], options(t0 + MINUTE))).toMatchObject({
      flagged: [],
      updated: [fault.id],
    });
    // Too few frames to judge: the fault stays; healthy for less than the stated time: it stays.
    expect((await applySensorHealth(registry, 'd', [rover('a', 'insufficient-data')], options(Date.now() + 60 * MINUTE))).cleared).toEqual(
      [],
    );
    expect((await applySensorHealth(registry, 'd', [rover('a', 'healthy')], options(Date.now() + 9 * MINUTE))).cleared).toEqual([]);
    expect(await registry.listSensorFaults({ deployment: 'd', open: true })).toHaveLength(1);

    const cleared = await applySensorHealth(registry, 'd', [rover('a', 'healthy')], options(Date.now() + 11 * MINUTE));
    expect(cleared.cleared).toEqual([fault.id]);
    const after = await registry.getSensorFault(fault.id);
    expect(after).toMatchObject({ clearedBy: CLEARED_BY_HEALTH });
    expect(after?.clearReason).toMatch(/healthy for 1\d min \(at least 10 min needed\)/);
  });
});
