/**
 * The real rover's devices on a Raspberry Pi: the drive on the Pi's hardware PWM (opened first, so the motor is
 * stopped before anything else can fail), the VL53L0X on an I2C bus, the camera through rpicam-vid. Nothing here
 * needs the renderer.
 */
import type { Logger } from 'pino';
import { OperatorError } from '../../core/commandLine.js';
import type { Camera, Drive, RangeSensor } from '../hardware/devices.js';
import { openI2cBus } from '../hardware/i2cBus.js';
import { PiCamera } from '../hardware/piCamera.js';
import { PwmDrive } from '../hardware/pwmDrive.js';
import { Vl53l0x } from '../hardware/vl53l0x.js';

export interface RealDeviceOptions {
  camera: 'rpicam';
  i2cBus: number;
  pwmChip: number;
  pwmChannel: number;
}

/** Each device on its own, so a check can say which one is missing. An error says what to fix (OperatorError). */
export const realDevice = {
  drive: (options: RealDeviceOptions, log: Logger): Promise<Drive> =>
    operator(PwmDrive.open({ chip: options.pwmChip, channel: options.pwmChannel, log: log.child({ device: 'drive' }) })),
  laser: async (options: RealDeviceOptions): Promise<RangeSensor> => new Vl53l0x(await operator(openI2cBus(options.i2cBus))),
  camera: (_options: RealDeviceOptions, log: Logger): Camera => new PiCamera({ log: log.child({ device: 'camera' }) }),
};

export async function openRealDevices(options: RealDeviceOptions, log: Logger) {
  const drive = await realDevice.drive(options, log);
  try {
    return { drive, laser: await realDevice.laser(options), camera: realDevice.camera(options, log) };
  } catch (err) {
    await drive.close();
    throw err;
  }
}

async function operator<T>(opening: Promise<T>): Promise<T> {
  try {
    return await opening;
  } catch (err) {
    throw new OperatorError((err as Error).message);
  }
}
