/**
 * The real rover's devices on a Raspberry Pi: the camera through rpicam-vid, the VL53L0X on an I2C bus, the drive
 * on the Pi's hardware PWM. Nothing here needs the renderer.
 */
import type { Logger } from 'pino';
import { openI2cBus } from '../hardware/i2cBus.js';
import { PiCamera } from '../hardware/piCamera.js';
import { Vl53l0x } from '../hardware/vl53l0x.js';
import type { Drive } from '../hardware/devices.js';

export interface RealDeviceOptions {
  camera: 'rpicam';
  i2cBus: number;
  pwmChip: number;
  pwmChannel: number;
}

export async function openRealDevices(options: RealDeviceOptions, log: Logger) {
  const drive = await openDrive(options);
  drive.stopNow();
  const laser = new Vl53l0x(await openI2cBus(options.i2cBus));
  const camera = new PiCamera({ log: log.child({ device: 'camera' }) });
  return { camera, laser, drive };
}

async function openDrive(options: RealDeviceOptions): Promise<Drive> {
  throw new Error(`the PWM drive (pwmchip${options.pwmChip}/pwm${options.pwmChannel}) is not part of this build yet`);
}
