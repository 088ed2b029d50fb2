/**
 * ST VL53L0X time-of-flight laser over I2C, after the sequence of ST's API user manual (UM2039) and datasheet
 * (DS11555): identify, data init, static init (reference SPADs from NVM, ST's default tuning, interrupt on new
 * sample, timing budget), VHV and phase reference calibrations, then single-shot or continuous ranging.
 * Runs unchanged against the simulated register map (simulatedVl53l0x.ts). No native module of its own: the bus
 * comes from i2cBus.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RangeReading, RangeSensor } from './devices.js';
import { isI2cBusError, type I2cBus } from './i2cBus.js';
import {
  DEVICE_RANGE_STATUS,
  INTERRUPT_NEW_SAMPLE_READY,
  MODEL_ID,
  NOTHING_IN_RANGE_STATUSES,
  NVM,
  OUT_OF_RANGE_VALUES,
  RANGE_COMPLETE,
  RANGE_MODE,
  REG,
  STEP,
  STOP_VARIABLE,
  TIMEOUT_VALUE,
} from './vl53l0xRegisters.js';

export interface Vl53l0xOptions {
  /** 7-bit I2C address (default 0x29). */
  address?: number;
  /** Time for one measurement in µs, 20000 or more (default 33000; longer is less noisy). */
  timingBudgetUs?: number;
  /** How long a measurement, calibration or NVM read may take before it counts as a timeout (default 500). */
  timeoutMs?: number;
  /** One measurement per read, or the sensor ranging on its own and each read taking the newest sample. */
  mode?: 'single' | 'continuous';
  /** Continuous mode: ms between measurements; 0 back to back (default 0). */
  continuousPeriodMs?: number;
  /** Least time between two attempts to initialise a sensor whose read failed: unplugged, reset, timed out (default 1000). */
  reinitIntervalMs?: number;
  /** The clock `reinitIntervalMs` is measured on (tests). */
  now?: () => number;
}

/** A measurement, calibration or NVM read that never completed within `timeoutMs`. */
export class Vl53l0xTimeoutError extends Error {
  readonly code = 'vl53l0x_timeout';
}

/** ST's smallest timing budget (µs) and the fixed overheads of each sequence step (VL53L0X_set_measurement_timing_budget). */
const MIN_TIMING_BUDGET_US = 20000;
const OVERHEAD_US = { start: 1910, end: 960, msrc: 660, tcc: 590, dss: 690, preRange: 660, finalRange: 550 };

/** Final range signal rate limit: 0.25 MCPS in Q9.7, ST's default. */
const SIGNAL_RATE_LIMIT_Q9_7 = Math.round(0.25 * 128);

/** The first reference SPAD of aperture type; the map has 48. */
const FIRST_APERTURE_SPAD = 12;
const REF_SPADS = 48;

/** How often a wait looks at the sensor. */
const POLL_MS = 1;

/**
 * ST's DefaultTuningSettings (vl53l0x_tuning.h), as [register, value] writes in order; PAGE_SELECT writes switch
 * between page 0 and page 1.
 */
// prettier-ignore
const TUNING: ReadonlyArray<readonly [number, number]> = [
  [0xff, 0x01], [0x00, 0x00], [0xff, 0x00], [0x09, 0x00], [0x10, 0x00], [0x11, 0x00], [0x24, 0x01], [0x25, 0xff],
  [0x75, 0x00], [0xff, 0x01], [0x4e, 0x2c], [0x48, 0x00], [0x30, 0x20], [0xff, 0x00], [0x30, 0x09], [0x54, 0x00],
  [0x31, 0x04], [0x32, 0x03], [0x40, 0x83], [0x46, 0x25], [0x60, 0x00], [0x27, 0x00], [0x50, 0x06], [0x51, 0x00],
  [0x52, 0x96], [0x56, 0x08], [0x57, 0x30], [0x61, 0x00], [0x62, 0x00], [0x64, 0x00], [0x65, 0x00], [0x66, 0xa0],
  [0xff, 0x01], [0x22, 0x32], [0x47, 0x14], [0x49, 0xff], [0x4a, 0x00], [0xff, 0x00], [0x7a, 0x0a], [0x7b, 0x00],
  [0x78, 0x21], [0xff, 0x01], [0x23, 0x34], [0x42, 0x00], [0x44, 0xff], [0x45, 0x26], [0x46, 0x05], [0x40, 0x40],
  [0x0e, 0x06], [0x20, 0x1a], [0x43, 0x40], [0xff, 0x00], [0x34, 0x03], [0x35, 0x44], [0xff, 0x01], [0x31, 0x04],
  [0x4b, 0x09], [0x4c, 0x05], [0x4d, 0x04], [0xff, 0x00], [0x44, 0x00], [0x45, 0x20], [0x47, 0x08], [0x48, 0x28],
  [0x67, 0x00], [0x70, 0x04], [0x71, 0x01], [0x72, 0xfe], [0x76, 0x00], [0x77, 0x00], [0xff, 0x01], [0x0d, 0x01],
  [0xff, 0x00], [0x80, 0x01], [0x01, 0xf8], [0xff, 0x01], [0x8e, 0x01], [0x00, 0x01], [0xff, 0x00], [0x80, 0x00],
];

interface SequenceSteps {
  tcc: boolean;
  dss: boolean;
  msrc: boolean;
  preRange: boolean;
  finalRange: boolean;
}

interface StepTimeouts {
  msrcDssTccUs: number;
  preRangeMclks: number;
  preRangeUs: number;
  finalRangeVcselPclks: number;
  finalRangeUs: number;
}

type NoReading = Extract<RangeReading, { ok: false }>;

/** One finished measurement as the sensor reported it. */
interface RawResult {
  deviceStatus: number;
  mm: number;
}

export class Vl53l0x implements RangeSensor {
  private readonly address: number;
  private readonly timingBudgetUs: number;
  private readonly timeoutMs: number;
  private readonly mode: 'single' | 'continuous';
  private readonly continuousPeriodMs: number;
  private readonly reinitIntervalMs: number;
  private readonly now: () => number;
  private stopVariable = 0;
  /** The sequence steps a measurement runs, restored after each reference calibration. */
  private rangingSteps = 0;
  private initialised = false;
  private lastInitAt = Number.NEGATIVE_INFINITY;
  private lastFailure: NoReading = { ok: false, reason: 'unplugged', detail: 'not initialised' };
  /** The operation on the bus now: each waits for the one before (a read selects pages and polls for a while). */
  private busy: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly bus: I2cBus,
    options: Vl53l0xOptions = {},
  ) {
    this.address = options.address ?? 0x29;
    this.timingBudgetUs = options.timingBudgetUs ?? 33000;
    this.timeoutMs = options.timeoutMs ?? 500;
    this.mode = options.mode ?? 'single';
    this.continuousPeriodMs = options.continuousPeriodMs ?? 0;
    this.reinitIntervalMs = options.reinitIntervalMs ?? 1000;
    this.now = options.now ?? Date.now;
    if (this.timingBudgetUs < MIN_TIMING_BUDGET_US) {
      throw new RangeError(`timing budget must be at least ${MIN_TIMING_BUDGET_US} µs, got ${this.timingBudgetUs}`);
    }
  }

  init(): Promise<void> {
    return this.exclusive(() => this.initialise());
  }

  /** One distance or why there is none; any failure of the bus or of re-initialising reads as unplugged. */
  read(): Promise<RangeReading> {
    return this.exclusive(() => this.range());
  }

  /** Stops continuous ranging and closes the bus (the sensor owns the bus it was given). */
  close(): Promise<void> {
    return this.exclusive(async () => {
      if (this.initialised && this.mode === 'continuous') {
        await this.stopContinuous().catch(() => undefined);
      }
      this.initialised = false;
      await this.bus.close();
    });
  }

  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.busy.then(operation);
    this.busy = result.catch(() => undefined);
    return result;
  }

  private async initialise(): Promise<void> {
    this.initialised = false;
    this.lastInitAt = this.now();
    // A sensor that stayed powered through a bus fault or an agent restart may be left on another register page,
    // forced on, or ranging: back to page 0 and idle first, or even its model id reads wrong.
    await this.writeU8(REG.PAGE_SELECT, 0x00);
    await this.writeU8(REG.POWER_MANAGEMENT_GO1_POWER_FORCE, 0x00);
    await this.writeU8(REG.SYSRANGE_START, RANGE_MODE.STOP);
    const modelId = await this.readU8(REG.IDENTIFICATION_MODEL_ID);
    if (modelId !== MODEL_ID) {
      throw new Error(
        `no VL53L0X at I2C address 0x${this.address.toString(16)}: model id 0x${modelId.toString(16)}, expected 0x${MODEL_ID.toString(16)}`,
      );
    }
    await this.dataInit();
    await this.staticInit();
    await this.referenceCalibration();
    if (this.mode === 'continuous') await this.startContinuous();
    this.initialised = true;
  }

  /**
   * A failed read leaves the sensor to be initialised again: unplugged and plugged back in, or reset by a brown-out
   * (it then answers but never measures), it has lost its settings. Until the next attempt is due, reads repeat why.
   */
  private async range(): Promise<RangeReading> {
    try {
      if (!this.initialised) {
        const waitMs = this.lastInitAt + this.reinitIntervalMs - this.now();
        if (waitMs > 0) {
          return { ...this.lastFailure, detail: `${this.lastFailure.detail}; next attempt in ${Math.ceil(waitMs)} ms` };
        }
        await this.initialise();
      }
      if (this.mode === 'single') await this.startSingleShot();
      return readingOf(await this.takeResult());
    } catch (err) {
      this.initialised = false;
      this.lastFailure =
        err instanceof Vl53l0xTimeoutError
          ? { ok: false, reason: 'timeout', raw: TIMEOUT_VALUE, detail: err.message }
          : { ok: false, reason: 'unplugged', detail: isI2cBusError(err) ? `I2C: ${(err as Error).message}` : (err as Error).message };
      return this.lastFailure;
    }
  }

  /** The measurement timing budget the sensor is set to, from its sequence steps and their timeouts (µs). */
  measurementTimingBudgetUs(): Promise<number> {
    return this.exclusive(() => this.timingBudgetOfSteps());
  }

  private async timingBudgetOfSteps(): Promise<number> {
    const steps = await this.sequenceSteps();
    const timeouts = await this.stepTimeouts(steps);
    let budget = this.budgetBeforeFinalRange(steps, timeouts);
    if (steps.finalRange) budget += timeouts.finalRangeUs + OVERHEAD_US.finalRange;
    return budget;
  }

  /** Gives the final range step whatever the budget leaves after the other steps (ST: set_measurement_timing_budget). */
  private async setTimingBudget(budgetUs: number): Promise<void> {
    const steps = await this.sequenceSteps();
    if (!steps.finalRange) return;
    const timeouts = await this.stepTimeouts(steps);
    const used = this.budgetBeforeFinalRange(steps, timeouts) + OVERHEAD_US.finalRange;
    if (used > budgetUs) throw new RangeError(`timing budget ${budgetUs} µs is less than the ${used} µs the other steps take`);
    // The final range timeout register counts from the start of the pre-range, in the final range's macro periods.
    let finalRangeMclks = microsecondsToMclks(budgetUs - used, timeouts.finalRangeVcselPclks);
    if (steps.preRange) finalRangeMclks += timeouts.preRangeMclks;
    await this.writeU16(REG.FINAL_RANGE_CONFIG_TIMEOUT_MACROP_HI, encodeTimeout(finalRangeMclks));
  }

  // --- initialisation (ST: DataInit, StaticInit, PerformRefCalibration) ---

  private async dataInit(): Promise<void> {
    // I/O at 2.8 V (the breakout boards' level), standard-mode I2C.
    const pad = await this.readU8(REG.VHV_CONFIG_PAD_SCL_SDA_EXTSUP_HV);
    await this.writeU8(REG.VHV_CONFIG_PAD_SCL_SDA_EXTSUP_HV, pad | 0x01);
    await this.writeU8(REG.I2C_MODE, 0x00);
    this.stopVariable = await this.onStopVariablePage(() => this.readU8(STOP_VARIABLE));
    // Leave the MSRC and pre-range signal rate checks off (bits 1 and 4), as ST's DataInit does.
    const msrcControl = await this.readU8(REG.MSRC_CONFIG_CONTROL);
    await this.writeU8(REG.MSRC_CONFIG_CONTROL, msrcControl | 0x12);
    await this.writeU16(REG.FINAL_RANGE_CONFIG_MIN_COUNT_RATE_RTN_LIMIT, SIGNAL_RATE_LIMIT_Q9_7);
    await this.writeU8(REG.SYSTEM_SEQUENCE_CONFIG, 0xff);
  }

  private async staticInit(): Promise<void> {
    await this.setReferenceSpads(await this.readSpadInfo());
    for (const [register, value] of TUNING) await this.writeU8(register, value);
    await this.writeU8(REG.SYSTEM_INTERRUPT_CONFIG_GPIO, INTERRUPT_NEW_SAMPLE_READY);
    const mux = await this.readU8(REG.GPIO_HV_MUX_ACTIVE_HIGH);
    await this.writeU8(REG.GPIO_HV_MUX_ACTIVE_HIGH, mux & ~0x10); // interrupt pin active low
    await this.writeU8(REG.SYSTEM_INTERRUPT_CLEAR, 0x01);
    // MSRC and TCC off, the other steps as the tuning left them (ST's StaticInit).
    this.rangingSteps = (await this.readU8(REG.SYSTEM_SEQUENCE_CONFIG)) & ~(STEP.MSRC | STEP.TCC);
    await this.writeU8(REG.SYSTEM_SEQUENCE_CONFIG, this.rangingSteps);
    await this.setTimingBudget(this.timingBudgetUs);
  }

  /** The reference SPAD count and whether they are aperture SPADs, read out of the sensor's NVM (pages 6 and 7). */
  private async readSpadInfo(): Promise<{ count: number; aperture: boolean }> {
    await this.writeU8(REG.POWER_MANAGEMENT_GO1_POWER_FORCE, 0x01);
    await this.writeU8(REG.PAGE_SELECT, 0x01);
    await this.writeU8(0x00, 0x00);
    await this.writeU8(REG.PAGE_SELECT, 0x06);
    await this.writeU8(NVM.CONTROL, (await this.readU8(NVM.CONTROL)) | 0x04);
    await this.writeU8(REG.PAGE_SELECT, 0x07);
    await this.writeU8(NVM.STROBE_ENABLE, 0x01);
    await this.writeU8(REG.POWER_MANAGEMENT_GO1_POWER_FORCE, 0x01);
    await this.writeU8(NVM.COMMAND, NVM.SPAD_INFO_COMMAND);
    await this.writeU8(NVM.CONTROL, 0x00);
    await this.waitFor('the NVM read-out of the reference SPAD info', async () => (await this.readU8(NVM.CONTROL)) !== 0);
    await this.writeU8(NVM.CONTROL, 0x01);
    const info = await this.readU8(NVM.DATA);
    await this.writeU8(NVM.STROBE_ENABLE, 0x00);
    await this.writeU8(REG.PAGE_SELECT, 0x06);
    await this.writeU8(NVM.CONTROL, (await this.readU8(NVM.CONTROL)) & ~0x04);
    await this.writeU8(REG.PAGE_SELECT, 0x01);
    await this.writeU8(0x00, 0x01);
    await this.writeU8(REG.PAGE_SELECT, 0x00);
    await this.writeU8(REG.POWER_MANAGEMENT_GO1_POWER_FORCE, 0x00);
    return { count: info & 0x7f, aperture: (info & 0x80) !== 0 };
  }

  /** Enables the first `count` good reference SPADs of the right type in the factory map (ST: set_reference_spads). */
  private async setReferenceSpads(spads: { count: number; aperture: boolean }): Promise<void> {
    const map = await this.readBlock(REG.GLOBAL_CONFIG_SPAD_ENABLES_REF_0, REF_SPADS / 8);
    await this.writeU8(REG.PAGE_SELECT, 0x01);
    await this.writeU8(REG.DYNAMIC_SPAD_REF_EN_START_OFFSET, 0x00);
    await this.writeU8(REG.DYNAMIC_SPAD_NUM_REQUESTED_REF_SPAD, 0x2c);
    await this.writeU8(REG.PAGE_SELECT, 0x00);
    await this.writeU8(REG.GLOBAL_CONFIG_REF_EN_START_SELECT, 0xb4);
    const first = spads.aperture ? FIRST_APERTURE_SPAD : 0;
    let enabled = 0;
    for (let spad = 0; spad < REF_SPADS; spad++) {
      const bit = 1 << (spad % 8);
      const good = (map[spad >> 3] & bit) !== 0;
      if (spad < first || enabled === spads.count) map[spad >> 3] &= ~bit;
      else if (good) enabled++;
    }
    await this.writeBlock(REG.GLOBAL_CONFIG_SPAD_ENABLES_REF_0, map);
  }

  /** VHV (temperature) then phase calibration, each a measurement with only that step enabled. */
  private async referenceCalibration(): Promise<void> {
    await this.writeU8(REG.SYSTEM_SEQUENCE_CONFIG, STEP.VHV);
    await this.singleReferenceCalibration('VHV calibration', RANGE_MODE.VHV_INIT);
    await this.writeU8(REG.SYSTEM_SEQUENCE_CONFIG, STEP.PHASE);
    await this.singleReferenceCalibration('phase calibration', 0);
    await this.writeU8(REG.SYSTEM_SEQUENCE_CONFIG, this.rangingSteps);
  }

  private async singleReferenceCalibration(what: string, vhvInit: number): Promise<void> {
    await this.writeU8(REG.SYSRANGE_START, RANGE_MODE.SINGLE_SHOT | vhvInit);
    await this.waitFor(what, () => this.sampleReady());
    await this.writeU8(REG.SYSTEM_INTERRUPT_CLEAR, 0x01);
    await this.writeU8(REG.SYSRANGE_START, RANGE_MODE.STOP);
  }

  // --- ranging ---

  private async startSingleShot(): Promise<void> {
    await this.onStopVariablePage(() => this.writeU8(STOP_VARIABLE, this.stopVariable));
    await this.writeU8(REG.SYSRANGE_START, RANGE_MODE.SINGLE_SHOT);
    await this.waitFor('the single shot to start', async () => ((await this.readU8(REG.SYSRANGE_START)) & 0x01) === 0);
  }

  private async startContinuous(): Promise<void> {
    await this.onStopVariablePage(() => this.writeU8(STOP_VARIABLE, this.stopVariable));
    if (this.continuousPeriodMs > 0) {
      // The period register counts oscillator ticks; OSC_CALIBRATE_VAL is ticks per ms (0: not calibrated, use ms).
      const ticksPerMs = await this.readU16(REG.OSC_CALIBRATE_VAL);
      await this.writeU32(REG.SYSTEM_INTERMEASUREMENT_PERIOD, this.continuousPeriodMs * (ticksPerMs || 1));
      await this.writeU8(REG.SYSRANGE_START, RANGE_MODE.TIMED);
    } else {
      await this.writeU8(REG.SYSRANGE_START, RANGE_MODE.BACK_TO_BACK);
    }
  }

  private async stopContinuous(): Promise<void> {
    await this.writeU8(REG.SYSRANGE_START, RANGE_MODE.STOP);
    await this.onStopVariablePage(() => this.writeU8(STOP_VARIABLE, 0x00));
  }

  /** Waits for the newest sample, reads it and clears the interrupt so the next one can come. */
  private async takeResult(): Promise<RawResult> {
    await this.waitFor('a measurement', () => this.sampleReady());
    const result = await this.readBlock(REG.RESULT_RANGE_STATUS, 12);
    await this.writeU8(REG.SYSTEM_INTERRUPT_CLEAR, 0x01);
    return { deviceStatus: (result[0] & 0x78) >> 3, mm: result.readUInt16BE(10) };
  }

  private async sampleReady(): Promise<boolean> {
    return ((await this.readU8(REG.RESULT_INTERRUPT_STATUS)) & 0x07) !== 0;
  }

  // --- timing budget (ST: get_sequence_step_timeout and friends) ---

  private async sequenceSteps(): Promise<SequenceSteps> {
    const config = await this.readU8(REG.SYSTEM_SEQUENCE_CONFIG);
    return {
      tcc: (config & STEP.TCC) !== 0,
      dss: (config & STEP.DSS) !== 0,
      msrc: (config & STEP.MSRC) !== 0,
      preRange: (config & STEP.PRE_RANGE) !== 0,
      finalRange: (config & STEP.FINAL_RANGE) !== 0,
    };
  }

  private async stepTimeouts(steps: SequenceSteps): Promise<StepTimeouts> {
    const preRangeVcselPclks = decodeVcselPeriod(await this.readU8(REG.PRE_RANGE_CONFIG_VCSEL_PERIOD));
    const msrcDssTccMclks = (await this.readU8(REG.MSRC_CONFIG_TIMEOUT_MACROP)) + 1;
    const preRangeMclks = decodeTimeout(await this.readU16(REG.PRE_RANGE_CONFIG_TIMEOUT_MACROP_HI));
    const finalRangeVcselPclks = decodeVcselPeriod(await this.readU8(REG.FINAL_RANGE_CONFIG_VCSEL_PERIOD));
    let finalRangeMclks = decodeTimeout(await this.readU16(REG.FINAL_RANGE_CONFIG_TIMEOUT_MACROP_HI));
    if (steps.preRange) finalRangeMclks -= preRangeMclks;
    return {
      msrcDssTccUs: mclksToMicroseconds(msrcDssTccMclks, preRangeVcselPclks),
      preRangeMclks,
      preRangeUs: mclksToMicroseconds(preRangeMclks, preRangeVcselPclks),
      finalRangeVcselPclks,
      finalRangeUs: mclksToMicroseconds(finalRangeMclks, finalRangeVcselPclks),
    };
  }

  private budgetBeforeFinalRange(steps: SequenceSteps, timeouts: StepTimeouts): number {
    let budget = OVERHEAD_US.start + OVERHEAD_US.end;
    if (steps.tcc) budget += timeouts.msrcDssTccUs + OVERHEAD_US.tcc;
    if (steps.dss) budget += 2 * (timeouts.msrcDssTccUs + OVERHEAD_US.dss);
    else if (steps.msrc) budget += timeouts.msrcDssTccUs + OVERHEAD_US.msrc;
    if (steps.preRange) budget += timeouts.preRangeUs + OVERHEAD_US.preRange;
    return budget;
  }

  // --- register access ---

  /** Runs `access` where the stop variable lives: power forced on, page 1, register 0x00 cleared; then back. */
  private async onStopVariablePage<T>(access: () => Promise<T>): Promise<T> {
    await this.writeU8(REG.POWER_MANAGEMENT_GO1_POWER_FORCE, 0x01);
    await this.writeU8(REG.PAGE_SELECT, 0x01);
    await this.writeU8(0x00, 0x00);
    const result = await access();
    await this.writeU8(0x00, 0x01);
    await this.writeU8(REG.PAGE_SELECT, 0x00);
    await this.writeU8(REG.POWER_MANAGEMENT_GO1_POWER_FORCE, 0x00);
    return result;
  }

  private async waitFor(what: string, done: () => Promise<boolean>): Promise<void> {
    const deadline = performance.now() + this.timeoutMs;
    while (!(await done())) {
      if (performance.now() >= deadline) {
        throw new Vl53l0xTimeoutError(`VL53L0X: ${what} did not complete within ${this.timeoutMs} ms`);
      }
      await sleep(POLL_MS);
    }
  }

  private readU8(register: number): Promise<number> {
    return this.bus.readByte(this.address, register);
  }

  private writeU8(register: number, value: number): Promise<void> {
    return this.bus.writeByte(this.address, register, value & 0xff);
  }

  private async readU16(register: number): Promise<number> {
    return (await this.readBlock(register, 2)).readUInt16BE(0);
  }

  private writeU16(register: number, value: number): Promise<void> {
    const bytes = Buffer.alloc(2);
    bytes.writeUInt16BE(value & 0xffff);
    return this.writeBlock(register, bytes);
  }

  private writeU32(register: number, value: number): Promise<void> {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(value >>> 0);
    return this.writeBlock(register, bytes);
  }

  private async readBlock(register: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await this.bus.readI2cBlock(this.address, register, length, buffer);
    if (bytesRead !== length) throw Object.assign(new Error(`short read: ${bytesRead} of ${length} bytes`), { code: 'EIO' });
    return buffer;
  }

  private async writeBlock(register: number, bytes: Buffer): Promise<void> {
    await this.bus.writeI2cBlock(this.address, register, bytes.length, bytes);
  }
}

/**
 * A finished measurement as a reading. A range of 8190/8191 or a "nothing in range" status is out of range; any
 * other status but range complete is an error code. `raw` is set only when the range register holds one of the
 * sensor's codes: a distance-looking value next to a failed status is no distance and must not pass for one.
 */
function readingOf({ deviceStatus, mm }: RawResult): RangeReading {
  const status = `device range status ${deviceStatus} (${DEVICE_RANGE_STATUS[deviceStatus] ?? 'unknown'})`;
  const raw = OUT_OF_RANGE_VALUES.includes(mm) ? { raw: mm } : {};
  if (OUT_OF_RANGE_VALUES.includes(mm) || NOTHING_IN_RANGE_STATUSES.includes(deviceStatus)) {
    return { ok: false, reason: 'out-of-range', ...raw, detail: status };
  }
  if (deviceStatus !== RANGE_COMPLETE) return { ok: false, reason: 'error-code', ...raw, detail: status };
  return { ok: true, mm };
}

const decodeVcselPeriod = (register: number) => (register + 1) << 1;

/** One macro period in ns for a VCSEL period in PLL clocks (2304 VCSEL clocks of 1655 ps each per PCLK). */
const macroPeriodNs = (vcselPclks: number) => Math.floor((2304 * vcselPclks * 1655 + 500) / 1000);

const mclksToMicroseconds = (mclks: number, vcselPclks: number) => Math.floor((mclks * macroPeriodNs(vcselPclks) + 500) / 1000);

const microsecondsToMclks = (us: number, vcselPclks: number) => {
  const macroNs = macroPeriodNs(vcselPclks);
  return Math.floor((us * 1000 + Math.floor(macroNs / 2)) / macroNs);
};

/** Timeout registers hold (LSB * 2^MSB) + 1 macro periods. */
export const decodeTimeout = (register: number) => (register & 0xff) * 2 ** (register >> 8) + 1;

export function encodeTimeout(mclks: number): number {
  if (mclks <= 0) return 0;
  let lsb = mclks - 1;
  let msb = 0;
  while (lsb > 0xff) {
    lsb >>>= 1;
    msb++;
  }
  return (msb << 8) | lsb;
}
