import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/random.js';
import { I2cBusUnavailableError, openI2cBus } from '../../edge/hardware/i2cBus.js';
import { SimulatedVl53l0x, type SimulatedVl53l0xOptions } from '../../edge/hardware/simulatedVl53l0x.js';
import { decodeTimeout, encodeTimeout, Vl53l0x, type Vl53l0xOptions } from '../../edge/hardware/vl53l0x.js';
import { DEVICE_RANGE_STATUS, REG } from '../../edge/hardware/vl53l0xRegisters.js';

/** A sensor on the simulated register map, ranging whatever `distance.mm` is. */
function rig(options: Vl53l0xOptions = {}, simOptions: Partial<SimulatedVl53l0xOptions> = {}) {
  const distance: { mm: number | null } = { mm: 500 };
  const chip = new SimulatedVl53l0x({ rangeMm: () => distance.mm, ...simOptions });
  const sensor = new Vl53l0x(chip, { timeoutMs: 2000, ...options });
  return { distance, chip, sensor };
}

const ADDRESS = 0x29;
/** The simulated chip measures in 2 ms: 50 ms without a sample is never; 5 s is a bound only a broken chip meets. */
const NEVER_MS = 50;
const SOON_MS = 5000;
const execFileAsync = promisify(execFile);

/**
 * Whether the simulated chip flags a sample within `ms` of wall-clock time (several measurement times for "never";
 * a generous bound for "it does", which returns as soon as it does), looking at least once after the bound.
 */
async function sampleFlagged(chip: SimulatedVl53l0x, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    const expired = performance.now() >= deadline;
    if ((await chip.readByte(ADDRESS, REG.RESULT_INTERRUPT_STATUS)) & 0x07) return true;
    if (expired) return false;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Writes page 1's stop variable the way the sensor wants it (power forced, page 1, register 0 cleared). */
async function writeStopVariable(chip: SimulatedVl53l0x, value: number) {
  for (const [register, byte] of [
    [0x80, 1],
    [0xff, 1],
    [0x00, 0],
    [0x91, value],
    [0x00, 1],
    [0xff, 0],
    [0x80, 0],
  ]) {
    await chip.writeByte(ADDRESS, register, byte);
  }
}

describe('VL53L0X driver on the simulated register map', () => {
  it('initialises and single-shot ranging follows the distance', async () => {
    const { distance, chip, sensor } = rig();
    const started = performance.now();
    await sensor.init();
    const initMs = performance.now() - started;
    const initTransactions = chip.accesses;
    for (const mm of [1200, 350, 100, 20, 0]) {
      distance.mm = mm;
      expect(await sensor.read()).toEqual({ ok: true, mm });
    }
    expect(chip.measurements).toBe(5);
    const perRead = (chip.accesses - initTransactions) / 5;
    console.log(`init: ${initTransactions} I2C transactions, ${initMs.toFixed(1)} ms simulated; a single shot: ${perRead} transactions`);
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

  it('serves reads that overlap one after the other (their page selects and polls do not interleave)', async () => {
    for (const mode of ['single', 'continuous'] as const) {
      const { sensor } = rig({ mode });
      await sensor.init();
      const readings = await Promise.all([sensor.read(), sensor.read(), sensor.read()]);
      expect(readings).toEqual([
        { ok: true, mm: 500 },
        { ok: true, mm: 500 },
        { ok: true, mm: 500 },
      ]);
      await sensor.close();
    }
  });

  it('reads the laser noise of edge/laser.ts around the distance', async () => {
    const { sensor } = rig({}, { rng: createRng(7), laser: { dropoutRate: 0 } });
    await sensor.init();
    const values: number[] = [];
    for (let i = 0; i < 40; i++) {
      const reading = await sensor.read();
      if (!reading.ok) throw new Error(`no reading: ${JSON.stringify(reading)}`);
      values.push(reading.mm);
    }
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(Math.abs(mean - 500)).toBeLessThan(10); // sigma 15 mm, 40 readings: the mean's sd is 2.4 mm
    expect(new Set(values).size).toBeGreaterThan(5);
  });

  it('sets the timing budget it is given through the sequence step timeouts', async () => {
    for (const budgetUs of [20000, 33000, 50000, 200000]) {
      const { sensor } = rig({ timingBudgetUs: budgetUs });
      await sensor.init();
      const actual = await sensor.measurementTimingBudgetUs();
      console.log(`timing budget asked ${budgetUs} µs, set ${actual} µs`);
      expect(Math.abs(actual - budgetUs)).toBeLessThan(budgetUs * 0.01);
    }
    expect(() => rig({ timingBudgetUs: 10000 })).toThrow(RangeError);
  });

  it("leaves the sequence steps as ST's StaticInit does: those the tuning set, less MSRC and TCC (0xe8)", async () => {
    const { chip, sensor } = rig();
    await sensor.init();
    expect(await chip.readByte(ADDRESS, REG.SYSTEM_SEQUENCE_CONFIG)).toBe(0xe8);
  });

  it('encodes sequence step timeouts as (LSB * 2^MSB) + 1 macro periods', () => {
    for (const mclks of [1, 2, 255, 256, 257, 1000, 4000, 65535]) {
      const decoded = decodeTimeout(encodeTimeout(mclks));
      expect(decoded).toBeLessThanOrEqual(mclks);
      expect(decoded).toBeGreaterThan(mclks / 2);
    }
    expect(decodeTimeout(0x01fe)).toBe(0xfe * 2 + 1);
    expect(encodeTimeout(0xfe * 2 + 1)).toBe(0x01fe);
  });

  it('maps every device range status but range complete to no reading, naming the status', async () => {
    const { chip, sensor } = rig();
    await sensor.init();
    for (let status = 0; status <= 15; status++) {
      if (status === 11) continue;
      chip.injectStatus(status);
      const reading = await sensor.read();
      const reason = [4, 6, 9].includes(status) ? 'out-of-range' : 'error-code';
      expect(reading, `status ${status}`).toEqual({
        ok: false,
        reason,
        detail: `device range status ${status} (${DEVICE_RANGE_STATUS[status] ?? 'unknown'})`,
      });
    }
    chip.injectStatus(null);
    expect(await sensor.read()).toEqual({ ok: true, mm: 500 });
  });

  it('reports nothing in range (no wall, beyond 2 m, a dropout) as out-of-range with the raw 8190', async () => {
    const { distance, sensor } = rig({}, { rng: createRng(3), laser: { dropoutRate: 0, maxMm: 2000 } });
    await sensor.init();
    const outOfRange = { ok: false, reason: 'out-of-range', raw: 8190 };
    distance.mm = null;
    expect(await sensor.read()).toMatchObject(outOfRange);
    distance.mm = 2600;
    expect(await sensor.read()).toMatchObject(outOfRange);
    const droppingOut = rig({}, { rng: createRng(3), laser: { dropoutRate: 1 } });
    await droppingOut.sensor.init();
    expect(await droppingOut.sensor.read()).toMatchObject(outOfRange);
  });

  it('a measurement that never completes is a timeout (raw 65535); ranging resumes after the sensor is re-initialised', async () => {
    for (const mode of ['single', 'continuous'] as const) {
      let clock = 0;
      const { chip, sensor } = rig({ mode, timeoutMs: 50, now: () => clock });
      await sensor.init();
      chip.hang();
      expect(await sensor.read(), mode).toMatchObject({ ok: false, reason: 'timeout', raw: 65535 });
      chip.hang(false);
      clock = 1000;
      expect(await sensor.read(), mode).toEqual({ ok: true, mm: 500 });
    }
  });

  it('an unplugged sensor is a reading of its own; plugged back in it is re-initialised, at most once a second', async () => {
    let clock = 0;
    const { chip, sensor } = rig({ now: () => clock });
    await sensor.init();
    chip.unplug();
    expect(await sensor.read()).toMatchObject({ ok: false, reason: 'unplugged', detail: expect.stringMatching(/EREMOTEIO/) });

    // Still unplugged for 5 s, read every 100 ms: one init attempt a second, each failing at its first transaction.
    const attempts: number[] = [];
    for (clock = 100; clock <= 5000; clock += 100) {
      const before = chip.accesses;
      expect(await sensor.read()).toMatchObject({ ok: false, reason: 'unplugged' });
      if (chip.accesses > before) attempts.push(clock);
    }
    expect(attempts).toEqual([1000, 2000, 3000, 4000, 5000]);

    chip.plugIn();
    clock = 5500;
    const before = chip.accesses;
    expect(await sensor.read()).toMatchObject({ ok: false, reason: 'unplugged' });
    expect(chip.accesses).toBe(before); // too soon after the last attempt: the bus is not touched
    clock = 6000;
    expect(await sensor.read()).toEqual({ ok: true, mm: 500 });
    expect(await sensor.read()).toEqual({ ok: true, mm: 500 });
  });

  it('recovers from a glitch on the bus that left the sensor on another register page', async () => {
    let clock = 0;
    const { distance, chip, sensor } = rig({ now: () => clock });
    await sensor.init();
    chip.glitch(2); // a single shot starts: power force, page 1, then this write fails with page 1 selected
    expect(await sensor.read()).toMatchObject({ ok: false, reason: 'unplugged', detail: expect.stringMatching(/EIO/) });
    clock = 1000;
    distance.mm = 420;
    expect(await sensor.read()).toEqual({ ok: true, mm: 420 });
  });

  it('initialises a sensor an agent that died left ranging continuously on register page 1', async () => {
    const { distance, chip, sensor: before } = rig({ mode: 'continuous' });
    await before.init();
    await chip.writeByte(ADDRESS, 0x80, 0x01);
    await chip.writeByte(ADDRESS, 0xff, 0x01);
    const after = new Vl53l0x(chip, { timeoutMs: 2000 });
    await after.init();
    distance.mm = 640;
    expect(await after.read()).toEqual({ ok: true, mm: 640 });
    expect(await after.read()).toEqual({ ok: true, mm: 640 });
  });

  it('re-initialises a sensor that stopped measuring after a brown-out reset, at most once a second', async () => {
    for (const mode of ['single', 'continuous'] as const) {
      let clock = 0;
      const { distance, chip, sensor } = rig({ mode, timeoutMs: 50, now: () => clock });
      await sensor.init();
      chip.reset();
      expect(await sensor.read(), mode).toMatchObject({ ok: false, reason: 'timeout', raw: 65535 });
      clock = 500;
      const before = chip.accesses;
      expect(await sensor.read(), mode).toMatchObject({ ok: false, reason: 'timeout', raw: 65535 });
      expect(chip.accesses, mode).toBe(before);
      clock = 1000;
      distance.mm = 730;
      expect(await sensor.read(), mode).toEqual({ ok: true, mm: 730 });
      expect(await sensor.read(), mode).toEqual({ ok: true, mm: 730 });
    }
  });

  it('a continuous sensor plugged back in is ranging continuously again', async () => {
    let clock = 0;
    const { distance, chip, sensor } = rig({ mode: 'continuous', now: () => clock });
    await sensor.init();
    chip.unplug();
    expect(await sensor.read()).toMatchObject({ ok: false, reason: 'unplugged' });
    chip.plugIn();
    clock = 1000;
    distance.mm = 250;
    expect(await sensor.read()).toEqual({ ok: true, mm: 250 });
    expect(await sensor.read()).toEqual({ ok: true, mm: 250 });
  });

  it('reads before init initialise the sensor, or say it is not there', async () => {
    const { chip, sensor } = rig();
    expect(await sensor.read()).toEqual({ ok: true, mm: 500 });
    const absent = new Vl53l0x(new SimulatedVl53l0x({ rangeMm: () => 500, address: 0x30 }), { timeoutMs: 50 });
    expect(await absent.read()).toMatchObject({ ok: false, reason: 'unplugged' });
    await expect(absent.init()).rejects.toMatchObject({ code: 'EREMOTEIO' });
    await sensor.close();
    expect(chip.accesses).toBeGreaterThan(0);
  });
});

describe('the simulated VL53L0X refuses what an uninitialised driver gets wrong', () => {
  it('never completes a single shot when the stop variable was not written back', async () => {
    const { chip, sensor } = rig();
    await sensor.init();
    await writeStopVariable(chip, 0x00); // what stopping continuous ranging leaves there
    await chip.writeByte(ADDRESS, REG.SYSRANGE_START, 0x01);
    expect(await sampleFlagged(chip, NEVER_MS)).toBe(false);

    await chip.writeByte(ADDRESS, REG.SYSRANGE_START, 0x00);
    await writeStopVariable(chip, 0x3c);
    await chip.writeByte(ADDRESS, REG.SYSRANGE_START, 0x01);
    expect(await sampleFlagged(chip, SOON_MS)).toBe(true);
  });

  it('flags no sample until the interrupt is configured for new samples', async () => {
    const chip = new SimulatedVl53l0x({ rangeMm: () => 500 });
    await writeStopVariable(chip, 0x3c);
    await chip.writeByte(ADDRESS, REG.SYSRANGE_START, 0x01);
    expect(await sampleFlagged(chip, NEVER_MS)).toBe(false);
    await chip.writeByte(ADDRESS, REG.SYSTEM_INTERRUPT_CONFIG_GPIO, 0x04);
    expect(await sampleFlagged(chip, SOON_MS)).toBe(true);
    // Without the reference calibrations the sample carries a failure status (3: no VHV value found).
    expect(((await chip.readByte(ADDRESS, REG.RESULT_RANGE_STATUS)) & 0x78) >> 3).toBe(3);
  });

  it('does not update a result whose interrupt was not cleared', async () => {
    const { distance, chip, sensor } = rig();
    await sensor.init();
    const rangeMm = async () => {
      const block = Buffer.alloc(12);
      await chip.readI2cBlock(ADDRESS, REG.RESULT_RANGE_STATUS, 12, block);
      return block.readUInt16BE(10);
    };
    await writeStopVariable(chip, 0x3c);
    await chip.writeByte(ADDRESS, REG.SYSRANGE_START, 0x01);
    expect(await sampleFlagged(chip, SOON_MS)).toBe(true);
    expect(await rangeMm()).toBe(500);
    distance.mm = 300;
    await chip.writeByte(ADDRESS, REG.SYSRANGE_START, 0x01);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await rangeMm()).toBe(500);
    await chip.writeByte(ADDRESS, REG.SYSTEM_INTERRUPT_CLEAR, 0x01);
    await chip.writeByte(ADDRESS, REG.SYSRANGE_START, 0x01);
    expect(await sampleFlagged(chip, SOON_MS)).toBe(true);
    expect(await rangeMm()).toBe(300);
  });

  it('gives the reference SPAD info only through the NVM handshake', async () => {
    const chip = new SimulatedVl53l0x({ rangeMm: () => 500, spadCount: 9, spadAperture: false });
    await chip.writeByte(ADDRESS, 0xff, 0x07);
    expect(await chip.readByte(ADDRESS, 0x92)).toBe(0);
    await chip.writeByte(ADDRESS, 0xff, 0x00);
    const sensor = new Vl53l0x(chip, { timeoutMs: 2000 });
    await sensor.init(); // 9 non-aperture SPADs enabled from SPAD 0, else its samples fail (status 1)
    expect(await sensor.read()).toEqual({ ok: true, mm: 500 });
  });
});

describe('openI2cBus', () => {
  it('says clearly that a bus that does not exist is not there', async () => {
    await expect(openI2cBus(99)).rejects.toThrow(I2cBusUnavailableError);
    await expect(openI2cBus(99)).rejects.toThrow(/\/dev\/i2c-99 does not exist: enable I2C/);
  });

  it('says clearly that the i2c-bus package is missing (bundled and run where it is not installed)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'i2c-bus-missing-'));
    try {
      const outfile = join(dir, 'i2cBus.mjs');
      await build({
        entryPoints: [fileURLToPath(new URL('../../edge/hardware/i2cBus.ts', import.meta.url))],
        bundle: true,
        platform: 'node',
        format: 'esm',
        external: ['i2c-bus'],
        outfile,
        logLevel: 'silent',
      });
      const script = `import(${JSON.stringify(outfile)}).then((m) => m.openI2cBus(1)).catch((err) => console.log(err.message));`;
      const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir });
      expect(stdout).toMatch(/the i2c-bus package could not be loaded .*npm install i2c-bus/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
