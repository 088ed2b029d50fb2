/**
 * The Pi's drive: a PWM + direction motor driver (for example a Cytron MD10C) on the Pi's hardware PWM, through the
 * kernel's sysfs PWM interface, so no native module is needed. The rover only ever reverses, so the direction input
 * is not switched by this code: it is held at "reverse" from boot by the firmware (Part G2 writes these lines into
 * /boot/firmware/config.txt and documents the wiring in docs/ROVER.md):
 *
 *   dtoverlay=pwm,pin=18,func=2   # hardware PWM0 on GPIO18 (header pin 12): /sys/class/pwm/pwmchip0/pwm0
 *   gpio=23=op,dh                 # GPIO23 (header pin 16) an output driven high: the driver's DIR input, reverse
 *
 * Swap the motor leads if "high" drives the rover forwards on your driver. Every write is synchronous, so stopNow()
 * can be called from exit handlers and no earlier set() can land after it. The motor is stopped when the process
 * exits, on SIGINT and SIGTERM, and on an uncaught error; a SIGKILL cannot be caught: the systemd unit's
 * ExecStopPost (deploy/rover/stop-drive.sh) writes duty 0 after the process is gone.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SpeedTier } from '../speedTiers.js';
import type { Drive } from './devices.js';
import { silentLog, type DeviceLog } from './deviceLog.js';

export type MovingTier = Exclude<SpeedTier, 'stop'>;

/** Duty cycle per tier as a fraction of the period: a starting point, to be tuned on the rover to the tier speeds. */
export const DEFAULT_DUTY: Record<MovingTier, number> = { fast: 0.6, slow: 0.3, slower: 0.18 };

export interface PwmDriveOptions {
  chip?: number;
  channel?: number;
  /** Where the PWM chips are (tests give a temp folder). */
  sysfsRoot?: string;
  frequencyHz?: number;
  duty?: Partial<Record<MovingTier, number>>;
  /** How long an exported channel may take to appear with writable files (udev sets their group). */
  exportDeadlineSeconds?: number;
  log?: DeviceLog;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class PwmDrive implements Drive {
  private closed = false;
  private readonly onExit = () => this.stopNow();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.stopNow();
    // Alone on this signal, our handler would keep the process alive: step aside and let the signal end it.
    if (process.listenerCount(signal) === 1) {
      this.removeHandlers();
      process.kill(process.pid, signal);
    }
  };

  private constructor(
    private readonly channelDir: string,
    private readonly periodNs: number,
    private readonly duty: Record<MovingTier, number>,
    private readonly log: DeviceLog,
  ) {}

  /** Exports the channel if needed, sets its period with the motor stopped, enables it and installs the stop handlers. */
  static async open(options: PwmDriveOptions = {}): Promise<PwmDrive> {
    const { chip = 0, channel = 0, sysfsRoot = '/sys/class/pwm', frequencyHz = 1_000, exportDeadlineSeconds = 5 } = options;
    const duty = { ...DEFAULT_DUTY, ...options.duty };
    for (const [tier, fraction] of Object.entries(duty)) {
      if (!(fraction >= 0 && fraction <= 1)) throw new Error(`PWM duty for ${tier} must be a fraction in 0..1, got ${fraction}`);
    }
    if (!(frequencyHz > 0)) throw new Error(`PWM frequency must be positive, got ${frequencyHz}`);
    const chipDir = path.join(sysfsRoot, `pwmchip${chip}`);
    if (!existsSync(chipDir)) {
      throw new Error(
        `no PWM chip at ${chipDir}: enable the PWM overlay (dtoverlay=pwm,pin=18,func=2 in /boot/firmware/config.txt) and reboot`,
      );
    }
    const channelDir = path.join(chipDir, `pwm${channel}`);
    if (!existsSync(channelDir)) writeFileSync(path.join(chipDir, 'export'), String(channel));
    await untilWritable(path.join(channelDir, 'duty_cycle'), exportDeadlineSeconds);

    const periodNs = Math.round(1e9 / frequencyHz);
    const drive = new PwmDrive(channelDir, periodNs, duty, options.log ?? silentLog);
    // Duty first: a period shorter than the duty left from an earlier run is refused by the kernel.
    drive.write('duty_cycle', 0);
    drive.write('period', periodNs);
    drive.write('enable', 1);
    drive.installHandlers();
    drive.log.info({ channel: channelDir, periodNs, duty }, 'PWM drive ready');
    return drive;
  }

  async set(tier: SpeedTier): Promise<void> {
    if (this.closed) throw new Error('the drive is closed');
    if (tier === 'stop') return this.stopNow();
    this.write('duty_cycle', Math.round(this.periodNs * this.duty[tier]));
  }

  stopNow(): void {
    try {
      this.write('duty_cycle', 0);
    } catch (error) {
      this.log.error({ err: (error as Error).message, channel: this.channelDir }, 'could not stop the motor');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopNow();
    try {
      this.write('enable', 0);
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'could not disable the PWM channel');
    }
    this.removeHandlers();
  }

  private write(file: 'duty_cycle' | 'period' | 'enable', value: number): void {
    writeFileSync(path.join(this.channelDir, file), String(value));
  }

  private installHandlers(): void {
    process.on('exit', this.onExit);
    process.on('uncaughtExceptionMonitor', this.onExit);
    for (const signal of STOP_SIGNALS) process.on(signal, this.onSignal);
  }

  private removeHandlers(): void {
    process.off('exit', this.onExit);
    process.off('uncaughtExceptionMonitor', this.onExit);
    for (const signal of STOP_SIGNALS) process.off(signal, this.onSignal);
  }
}

/** Waits for a freshly exported PWM file to accept writes (udev gives it its group a moment after it appears). */
async function untilWritable(file: string, deadlineSeconds: number): Promise<void> {
  const deadline = Date.now() + deadlineSeconds * 1000;
  for (;;) {
    try {
      writeFileSync(file, '0');
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const waiting = code === 'ENOENT' || code === 'EACCES';
      if (!waiting || Date.now() >= deadline) {
        const within = waiting ? ` within ${deadlineSeconds} s` : '';
        throw new Error(`PWM channel ${path.dirname(file)} not writable${within}: ${(error as Error).message}`, { cause: error });
      }
      await sleep(50);
    }
  }
}
