/**
 * A simulated VL53L0X on a simulated I2C bus: a register map that behaves enough like the sensor for the real driver
 * (vl53l0x.ts) to initialise it, range with it and meet its faults. It pages registers through 0xFF, hands out its
 * stop variable and reference SPAD info only through their access sequences, runs VHV and phase calibrations,
 * raises and clears the new-sample interrupt and writes results at 0x14 (status) and 0x1E (mm). It also misbehaves
 * where the sensor does when a driver skips a step: no stop variable written back -> a single shot never completes;
 * no new-sample interrupt configured -> nothing is ever flagged ready; no reference calibrations or a wrong reference
 * SPAD map -> results carry a failure status; an interrupt not cleared -> the result is not updated.
 * Measurements take `measurementMs` of wall-clock time and are evaluated lazily on each bus access (no timers).
 */
import type { Rng } from '../../core/random.js';
import { readLaser, type LaserOptions } from '../laser.js';
import type { I2cBus } from './i2cBus.js';
import { INTERRUPT_NEW_SAMPLE_READY, MODEL_ID, NVM, RANGE_COMPLETE, RANGE_MODE, REG, STEP, STOP_VARIABLE } from './vl53l0xRegisters.js';

export interface SimulatedVl53l0xOptions {
  /** The distance the sensor ranges now (mm); null: nothing in front of it. */
  rangeMm: () => number | null;
  /** Noise and dropouts as edge/laser.ts readLaser draws them; without an rng readings are exact. */
  rng?: Rng;
  laser?: LaserOptions;
  /** 7-bit I2C address it answers on (default 0x29). */
  address?: number;
  /** Wall-clock time one measurement or calibration takes (default 2 ms). */
  measurementMs?: number;
  /** What the NVM says: number of reference SPADs and whether they are aperture SPADs (default 5, aperture). */
  spadCount?: number;
  spadAperture?: boolean;
  /** The value the sensor keeps as its stop variable (default 0x3c). */
  stopVariable?: number;
  now?: () => number;
}

type Measurement = { kind: 'vhv' | 'phase' | 'range' | 'stalled'; readyAt: number };

/** Oscillator ticks per ms in OSC_CALIBRATE_VAL (the inter-measurement period register counts these). */
const OSC_TICKS_PER_MS = 0x00a5;
const OUT_OF_RANGE_MM = 8190;
/**
 * The factory's map of good reference SPADs (48 bits, SPAD 0 = bit 0 of the first byte): SPADs 2, 13 and 14 are bad,
 * so a driver that enables the first ones of a type without looking at the map enables bad ones.
 */
const FACTORY_GOOD_SPADS = [0xfb, 0x9f, 0xff, 0xff, 0xff, 0xff];
/** Device statuses the simulation writes for an uncalibrated sensor and a wrong reference SPAD map. */
const STATUS_NO_VHV_VALUE = 3;
const STATUS_VCSEL_CONTINUITY_FAILURE = 1;
const STATUS_NO_TARGET = 4;

const ERRNO = {
  EREMOTEIO: { errno: 121, text: 'Remote I/O error' },
  EIO: { errno: 5, text: 'Input/output error' },
  EBADF: { errno: 9, text: 'Bad file descriptor' },
};

function i2cError(code: keyof typeof ERRNO, syscall: string): Error {
  const { errno, text } = ERRNO[code];
  return Object.assign(new Error(`${code}, ${text}, ${syscall}`), { code, errno, syscall });
}

export class SimulatedVl53l0x implements I2cBus {
  /** Bus transactions so far, answered or not. */
  accesses = 0;
  /** Range measurements completed so far (calibrations not counted). */
  measurements = 0;

  private readonly address: number;
  private readonly measurementMs: number;
  private readonly spadInfo: number;
  private readonly spadCount: number;
  private readonly spadAperture: boolean;
  private readonly stopVariable: number;
  private readonly now: () => number;

  private pages = new Map<number, Uint8Array>();
  private page = 0;
  private powerForce = 0;
  private armedStopVariable: number | null = null;
  private nvmReady = false;
  private vhvDone = false;
  private phaseDone = false;
  private startBit = false;
  private measuring: Measurement | null = null;
  private continuous: { periodMs: number; nextAt: number } | null = null;
  private interruptPending = false;
  private result = { status: 0, mm: 0 };

  private unplugged = false;
  private hung = false;
  private closed = false;
  private injectedStatus: number | null = null;
  private glitchIn: number | null = null;

  constructor(private readonly options: SimulatedVl53l0xOptions) {
    this.address = options.address ?? 0x29;
    this.measurementMs = options.measurementMs ?? 2;
    this.spadCount = options.spadCount ?? 5;
    this.spadAperture = options.spadAperture ?? true;
    this.spadInfo = (this.spadAperture ? 0x80 : 0) | (this.spadCount & 0x7f);
    this.stopVariable = options.stopVariable ?? 0x3c;
    this.now = options.now ?? (() => performance.now());
    this.powerOn();
  }

  // --- faults ---

  /** The sensor is gone: every transaction fails as an unanswered address does (EREMOTEIO). */
  unplug(): void {
    this.unplugged = true;
  }

  /** Plugged back in: powered up afresh, so it needs initialising again. */
  plugIn(): void {
    this.unplugged = false;
    this.powerOn();
  }

  /** A brown-out (say, the motor's inrush): the chip restarts with its power-on registers, still answering on the bus. */
  reset(): void {
    this.powerOn();
  }

  /** Every result from now on carries this device range status (null: back to normal). */
  injectStatus(status: number | null): void {
    this.injectedStatus = status;
  }

  /** One transaction fails (EIO, a glitch on the wires) after `afterTransactions` more succeed; the chip keeps its state. */
  glitch(afterTransactions = 0): void {
    this.glitchIn = afterTransactions;
  }

  /** No measurement or calibration completes until `hang(false)`. */
  hang(hung = true): void {
    this.hung = hung;
  }

  // --- I2cBus ---

  async readByte(address: number, register: number): Promise<number> {
    this.transaction(address, 'readByte');
    return this.readRegister(register);
  }

  async writeByte(address: number, register: number, byte: number): Promise<void> {
    this.transaction(address, 'writeByte');
    this.writeRegister(register, byte & 0xff);
  }

  async readI2cBlock(address: number, register: number, length: number, buffer: Buffer) {
    if (length > 32) throw new RangeError('readI2cBlock: length must be at most 32');
    this.transaction(address, 'readI2cBlock');
    for (let i = 0; i < length; i++) buffer[i] = this.readRegister(register + i);
    return { bytesRead: length, buffer };
  }

  async writeI2cBlock(address: number, register: number, length: number, buffer: Buffer) {
    if (length > 32) throw new RangeError('writeI2cBlock: length must be at most 32');
    this.transaction(address, 'writeI2cBlock');
    for (let i = 0; i < length; i++) this.writeRegister(register + i, buffer[i]);
    return { bytesWritten: length, buffer };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // --- the sensor ---

  private powerOn(): void {
    this.pages = new Map();
    const page0 = this.registers(0);
    page0[REG.IDENTIFICATION_MODEL_ID] = MODEL_ID;
    page0[REG.IDENTIFICATION_REVISION_ID] = 0x10;
    page0[REG.SYSTEM_SEQUENCE_CONFIG] = 0xff;
    page0[REG.GPIO_HV_MUX_ACTIVE_HIGH] = 0x11;
    page0[REG.OSC_CALIBRATE_VAL] = OSC_TICKS_PER_MS >> 8;
    page0[REG.OSC_CALIBRATE_VAL + 1] = OSC_TICKS_PER_MS & 0xff;
    page0.set(FACTORY_GOOD_SPADS, REG.GLOBAL_CONFIG_SPAD_ENABLES_REF_0);
    this.registers(1)[0x00] = 0x01;
    this.page = 0;
    this.powerForce = 0;
    this.armedStopVariable = null;
    this.nvmReady = false;
    this.vhvDone = false;
    this.phaseDone = false;
    this.startBit = false;
    this.measuring = null;
    this.continuous = null;
    this.interruptPending = false;
    this.result = { status: 0, mm: 0 };
  }

  private registers(page: number): Uint8Array {
    let registers = this.pages.get(page);
    if (!registers) {
      registers = new Uint8Array(256);
      this.pages.set(page, registers);
    }
    return registers;
  }

  private transaction(address: number, syscall: string): void {
    this.accesses++;
    if (this.closed) throw i2cError('EBADF', syscall);
    if (this.unplugged || address !== this.address) throw i2cError('EREMOTEIO', syscall);
    if (this.glitchIn !== null && this.glitchIn-- === 0) {
      this.glitchIn = null;
      throw i2cError('EIO', syscall);
    }
    this.advance();
  }

  private readRegister(register: number): number {
    register &= 0xff;
    if (register === REG.PAGE_SELECT) return this.page;
    if (register === REG.POWER_MANAGEMENT_GO1_POWER_FORCE) return this.powerForce;
    const registers = this.registers(this.page);
    if (this.page === 0) {
      if (register === REG.SYSRANGE_START) return (registers[register] & ~0x01) | (this.startBit ? 0x01 : 0);
      if (register === REG.RESULT_INTERRUPT_STATUS) {
        const config = registers[REG.SYSTEM_INTERRUPT_CONFIG_GPIO] & 0x07;
        return this.interruptPending && config === INTERRUPT_NEW_SAMPLE_READY ? INTERRUPT_NEW_SAMPLE_READY : 0;
      }
      if (register === REG.RESULT_RANGE_STATUS) return (this.result.status << 3) | 0x01;
      if (register === REG.RESULT_RANGE_STATUS + 10) return this.result.mm >> 8;
      if (register === REG.RESULT_RANGE_STATUS + 11) return this.result.mm & 0xff;
      if (register > REG.RESULT_RANGE_STATUS && register < REG.RESULT_RANGE_STATUS + 12) return 0;
    }
    if (this.page === 1 && register === STOP_VARIABLE) return this.onStopVariablePage() ? this.stopVariable : 0x00;
    if (this.page === 7 && register === NVM.CONTROL) return this.nvmReady ? 0x10 : registers[register];
    if (this.page === 7 && register === NVM.DATA) return this.nvmReady ? this.spadInfo : 0x00;
    return registers[register];
  }

  private writeRegister(register: number, value: number): void {
    register &= 0xff;
    if (register === REG.PAGE_SELECT) {
      this.page = value;
      return;
    }
    if (register === REG.POWER_MANAGEMENT_GO1_POWER_FORCE) {
      this.powerForce = value;
      return;
    }
    const registers = this.registers(this.page);
    if (this.page === 0) {
      if (register === REG.IDENTIFICATION_MODEL_ID || register === REG.IDENTIFICATION_REVISION_ID) return;
      if (register === REG.SYSRANGE_START) return this.start(value);
      if (register === REG.SYSTEM_INTERRUPT_CLEAR && value & 0x01) this.interruptPending = false;
    }
    if (this.page === 1 && register === STOP_VARIABLE) {
      if (this.onStopVariablePage()) this.armedStopVariable = value;
      return;
    }
    registers[register] = value;
    if (this.page === 7 && register === NVM.STROBE_ENABLE && value === 0) this.nvmReady = false;
    if (this.page === 7 && register === NVM.CONTROL && value === 0x00) this.nvmReady = this.nvmCommandIssued();
  }

  private onStopVariablePage(): boolean {
    return this.powerForce === 0x01 && this.registers(1)[0x00] === 0x00;
  }

  private nvmCommandIssued(): boolean {
    const page6 = this.registers(6);
    const page7 = this.registers(7);
    return (page6[NVM.CONTROL] & 0x04) !== 0 && page7[NVM.STROBE_ENABLE] === 0x01 && page7[NVM.COMMAND] === NVM.SPAD_INFO_COMMAND;
  }

  private start(mode: number): void {
    const now = this.now();
    if (this.continuous || mode === RANGE_MODE.STOP) {
      this.continuous = null;
      this.measuring = null;
      this.startBit = false;
      return;
    }
    const armed = this.armedStopVariable === this.stopVariable;
    if (mode & RANGE_MODE.SINGLE_SHOT) {
      const steps = this.registers(0)[REG.SYSTEM_SEQUENCE_CONFIG];
      const kind = steps === STEP.VHV && mode & RANGE_MODE.VHV_INIT ? 'vhv' : steps === STEP.PHASE ? 'phase' : armed ? 'range' : 'stalled';
      this.measuring = { kind, readyAt: now + this.measurementMs };
      this.startBit = this.hung;
      return;
    }
    if (!armed) return;
    if (mode & RANGE_MODE.BACK_TO_BACK) {
      this.continuous = { periodMs: this.measurementMs, nextAt: now + this.measurementMs };
    } else if (mode & RANGE_MODE.TIMED) {
      const page0 = Buffer.from(this.registers(0));
      const periodMs = page0.readUInt32BE(REG.SYSTEM_INTERMEASUREMENT_PERIOD) / page0.readUInt16BE(REG.OSC_CALIBRATE_VAL);
      const periodOrMeasurement = Math.max(this.measurementMs, periodMs);
      this.continuous = { periodMs: periodOrMeasurement, nextAt: now + periodOrMeasurement };
    }
  }

  /** Completes what is due by now. */
  private advance(): void {
    if (this.hung) return;
    this.startBit = false;
    const now = this.now();
    if (this.measuring && now >= this.measuring.readyAt) {
      const { kind } = this.measuring;
      this.measuring = null;
      if (kind === 'vhv') this.vhvDone = true;
      if (kind === 'phase') this.phaseDone = true;
      if (kind === 'range') this.measure();
      if (kind !== 'stalled') this.interruptPending = true;
    }
    if (this.continuous && now >= this.continuous.nextAt) {
      const { periodMs } = this.continuous;
      this.continuous.nextAt += periodMs * (Math.floor((now - this.continuous.nextAt) / periodMs) + 1);
      this.measure();
      this.interruptPending = true;
    }
  }

  /** One range measurement; a result not yet taken (interrupt still set) is not overwritten. */
  private measure(): void {
    this.measurements++;
    if (this.interruptPending) return;
    if (!this.vhvDone || !this.phaseDone) {
      this.result = { status: STATUS_NO_VHV_VALUE, mm: 0 };
      return;
    }
    if (!this.referenceSpadsRight()) {
      this.result = { status: STATUS_VCSEL_CONTINUITY_FAILURE, mm: 0 };
      return;
    }
    const maxMm = this.options.laser?.maxMm ?? 2000;
    const target = this.options.rangeMm();
    const mm =
      target === null || target > maxMm
        ? null
        : this.options.rng
          ? readLaser(target, this.options.rng, this.options.laser)
          : Math.max(0, Math.round(target));
    const measured = mm === null ? { status: STATUS_NO_TARGET, mm: OUT_OF_RANGE_MM } : { status: RANGE_COMPLETE, mm };
    this.result = this.injectedStatus === null ? measured : { status: this.injectedStatus, mm: measured.mm };
  }

  /** Exactly `spadCount` good reference SPADs enabled, all aperture ones (from SPAD 12) if the NVM says so. */
  private referenceSpadsRight(): boolean {
    const map = this.registers(0).subarray(REG.GLOBAL_CONFIG_SPAD_ENABLES_REF_0, REG.GLOBAL_CONFIG_SPAD_ENABLES_REF_0 + 6);
    let enabled = 0;
    for (let spad = 0; spad < 48; spad++) {
      const bit = 1 << (spad % 8);
      if (!(map[spad >> 3] & bit)) continue;
      if (!(FACTORY_GOOD_SPADS[spad >> 3] & bit) || (this.spadAperture && spad < 12)) return false;
      enabled++;
    }
    return enabled === this.spadCount;
  }
}
