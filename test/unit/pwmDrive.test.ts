import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PwmDrive } from '../../edge/hardware/pwmDrive.js';

const CHILD = fileURLToPath(new URL('../fixtures/pwmDriveChild.ts', import.meta.url));
const roots: string[] = [];
const kernels: NodeJS.Timeout[] = [];
afterEach(() => {
  for (const kernel of kernels.splice(0)) clearInterval(kernel);
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A sysfs PWM tree in a temp folder: pwmchip0 with its export file, and the channel itself when `exported`. */
function fakeSysfs(exported = true): string {
  const root = mkdtempSync(path.join(tmpdir(), 'pwm-sysfs-'));
  roots.push(root);
  mkdirSync(path.join(root, 'pwmchip0'));
  writeFileSync(path.join(root, 'pwmchip0', 'export'), '');
  if (exported) exportChannel(root);
  return root;
}

function exportChannel(root: string): void {
  const dir = path.join(root, 'pwmchip0', 'pwm0');
  mkdirSync(dir);
  for (const [file, value] of Object.entries({ period: '0', duty_cycle: '0', enable: '0' })) writeFileSync(path.join(dir, file), value);
}

/** Plays the kernel: a channel number written to export makes the channel appear. */
function kernelExports(root: string): void {
  kernels.push(
    setInterval(() => {
      const channel = readFileSync(path.join(root, 'pwmchip0', 'export'), 'utf8').trim();
      if (channel === '0' && !existsSync(path.join(root, 'pwmchip0', 'pwm0'))) exportChannel(root);
    }, 20),
  );
}

const read = (root: string, file: string) => readFileSync(path.join(root, 'pwmchip0', 'pwm0', file), 'utf8').trim();
const listeners = () => ['exit', 'uncaughtExceptionMonitor', 'SIGINT', 'SIGTERM'].map((e) => process.listenerCount(e));

describe('PwmDrive', () => {
  it('sets the period with the motor stopped, writes each tier as its duty, stops at once and on close', async () => {
    const root = fakeSysfs();
    const before = listeners();
    const drive = await PwmDrive.open({ sysfsRoot: root, frequencyHz: 2_000, duty: { slower: 0.1 } });
    expect([read(root, 'period'), read(root, 'duty_cycle'), read(root, 'enable')]).toEqual(['500000', '0', '1']);
    expect(listeners()).toEqual(before.map((n) => n + 1));

    const duties: Record<string, string> = {};
    for (const tier of ['fast', 'slow', 'slower', 'stop'] as const) {
      await drive.set(tier);
      duties[tier] = read(root, 'duty_cycle');
    }
    expect(duties).toEqual({ fast: '300000', slow: '150000', slower: '50000', stop: '0' });

    await drive.set('fast');
    drive.stopNow();
    expect(read(root, 'duty_cycle')).toBe('0');
    drive.stopNow();
    expect(read(root, 'duty_cycle')).toBe('0');

    await drive.set('slow');
    await drive.close();
    expect([read(root, 'duty_cycle'), read(root, 'enable')]).toEqual(['0', '0']);
    expect(listeners()).toEqual(before);
    await expect(drive.set('fast')).rejects.toThrow(/closed/);
    expect(read(root, 'duty_cycle')).toBe('0');
    await drive.close();
  });

  it('exports the channel when it is not there yet, and says clearly when the chip or channel never appears', async () => {
    const root = fakeSysfs(false);
    kernelExports(root);
    const drive = await PwmDrive.open({ sysfsRoot: root });
    expect(read(root, 'enable')).toBe('1');
    await drive.close();

    await expect(PwmDrive.open({ sysfsRoot: fakeSysfs(false), exportDeadlineSeconds: 0.2 })).rejects.toThrow(
      /PWM channel .*pwm0 not writable within 0.2 s/,
    );
    await expect(PwmDrive.open({ sysfsRoot: path.join(fakeSysfs(), 'nowhere') })).rejects.toThrow(/no PWM chip at .*dtoverlay=pwm/);
    await expect(PwmDrive.open({ sysfsRoot: fakeSysfs(), duty: { fast: 1.5 } })).rejects.toThrow(/fraction in 0..1/);
  });

  describe('a process that ends without closing the drive leaves the motor stopped', () => {
    function runChild(mode: string, signal?: NodeJS.Signals) {
      const root = fakeSysfs();
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, root, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      return new Promise<{
        code: number | null;
        signal: NodeJS.Signals | null;
        stdout: string;
        stderr: string;
        duty: string;
        wasRunning: string;
      }>((resolve) => {
        let wasRunning = '';
        child.stdout.on('data', (d: Buffer) => {
          stdout += d;
          if (!wasRunning && stdout.includes('running\n')) {
            wasRunning = read(root, 'duty_cycle');
            if (signal) child.kill(signal);
          }
        });
        child.on('close', (code, exitSignal) =>
          resolve({ code, signal: exitSignal, stdout, stderr, duty: read(root, 'duty_cycle'), wasRunning }),
        );
      });
    }

    it.each(['SIGTERM', 'SIGINT'] as const)('%s: stopped, and the signal still ends the process', async (signal) => {
      const end = await runChild('wait', signal);
      expect(end.wasRunning).toBe('600000');
      expect(end).toMatchObject({ signal, duty: '0' });
    });

    it('an uncaught error: stopped, and the process still crashes with it', async () => {
      const end = await runChild('throw');
      expect(end.wasRunning).toBe('600000');
      expect(end).toMatchObject({ code: 1, duty: '0' });
      expect(end.stderr).toContain('the agent crashed');
    });

    it('an uncaught error the agent swallows: stopped all the same', async () => {
      const end = await runChild('swallow');
      expect(end).toMatchObject({ code: 0, duty: '0' });
      expect(end.stdout).toContain('swallowed "the agent crashed", duty: 0');
    });

    it('an unhandled rejection: stopped', async () => {
      const end = await runChild('reject');
      expect(end).toMatchObject({ code: 1, duty: '0' });
      expect(end.stderr).toContain('a forgotten rejection');
    });

    it('process.exit: stopped', async () => {
      expect(await runChild('exit')).toMatchObject({ code: 3, duty: '0' });
    });

    it("with the agent's own SIGTERM handler: the motor is stopped by the time it runs, and the agent ends when it chooses", async () => {
      const end = await runChild('own-handler', 'SIGTERM');
      expect(end).toMatchObject({ code: 0, signal: null, duty: '0' });
      expect(end.stdout).toContain('duty at shutdown: 0');
    });
  });
});
