import { describe, expect, it } from 'vitest';
import { I2cBusUnavailableError, openI2cBus } from '../../edge/hardware/i2cBus.js';
import { SimulatedVl53l0x } from '../../edge/hardware/simulatedVl53l0x.js';
import { Vl53l0x, type Vl53l0xOptions } from '../../edge/hardware/vl53l0x.js';

/** A sensor on the simulated register map, ranging whatever `distance.mm` is. */
function rig(options: Vl53l0xOptions = {}, simOptions: Partial<ConstructorParameters<typeof SimulatedVl53l0x>[0]> = {}) {
  const distance: { mm: number | null } = { mm: 500 };
  const chip = new SimulatedVl53l0x({ rangeMm: () => distance.mm, ...simOptions });
  const sensor = new Vl53l0x(chip, { timeoutMs: 200, ...options });
  return { distance, chip, sensor };
}

describe('VL53L0X driver on the simulated register map', () => {
  it('initialises and single-shot ranging follows the distance', async () => {
    const { distance, chip, sensor } = rig();
    await sensor.init();
    for (const mm of [1200, 350, 100, 20, 0]) {
      distance.mm = mm;
      expect(await sensor.read()).toEqual({ ok: true, mm });
    }
    expect(chip.measurements).toBe(5);
    await sensor.close();
  });

  it('continuous ranging follows the distance, back to back and timed', async () => {
    for (const continuousPeriodMs of [0, 10]) {
      const { distance, sensor } = rig({ mode: 'continuous', continuousPeriodMs });
      await sensor.init();
      for (const mm of [800, 300, 60]) {
        distance.mm = mm;
        // The sample in flight when the distance changed may still be the old one: the next is the new one.
        const readings = [await sensor.read(), await sensor.read()];
        expect(readings[1]).toEqual({ ok: true, mm });
      }
      await sensor.close();
    }
  });
});

describe('openI2cBus', () => {
  it('says clearly that a bus that does not exist is not there', async () => {
    await expect(openI2cBus(99)).rejects.toThrow(I2cBusUnavailableError);
    await expect(openI2cBus(99)).rejects.toThrow(/\/dev\/i2c-99 does not exist: enable I2C/);
  });
});
