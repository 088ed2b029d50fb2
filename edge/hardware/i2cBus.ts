/**
 * The I2C bus the VL53L0X driver talks through: the part of i2c-bus's PromisifiedBus (fivdi/i2c-bus) it uses, so
 * the same driver runs on the Pi's /dev/i2c-N and on the simulated register map (simulatedVl53l0x.ts).
 * Registers wider than a byte are big-endian: read and write them as blocks.
 */
import { access, constants } from 'node:fs/promises';

export interface I2cBus {
  readByte(address: number, register: number): Promise<number>;
  writeByte(address: number, register: number, byte: number): Promise<void>;
  readI2cBlock(address: number, register: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }>;
  writeI2cBlock(address: number, register: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }>;
  close(): Promise<void>;
}

/** The bus cannot be opened: no i2c-bus package, no /dev/i2c-N, or no right to it. */
export class I2cBusUnavailableError extends Error {
  readonly code = 'i2c_bus_unavailable';
}

type I2cBusModule = { openPromisified(busNumber: number): Promise<I2cBus> };

/**
 * Opens /dev/i2c-`busNumber` (the Pi's header pins SDA GPIO2 / SCL GPIO3 are bus 1). i2c-bus is an optional
 * dependency with a native part, imported only here and only when a real bus is wanted.
 */
export async function openI2cBus(busNumber: number): Promise<I2cBus> {
  if (!Number.isInteger(busNumber) || busNumber < 0) {
    throw new I2cBusUnavailableError(`I2C bus number must be a whole number >= 0, got ${busNumber}`);
  }
  let i2c: I2cBusModule;
  try {
    // No @types for i2c-bus here: the string cast keeps TypeScript from looking for them; I2cBus types the result.
    const imported = (await import('i2c-bus' as string)) as { default?: I2cBusModule } & I2cBusModule;
    i2c = imported.default ?? imported;
  } catch (err) {
    throw new I2cBusUnavailableError(
      `the i2c-bus package could not be loaded (${(err as Error).message}): install it beside the agent ` +
        '(npm install i2c-bus; it builds with node-gyp, so it needs build-essential)',
    );
  }
  // i2c-bus opens the device file only at the first transaction: check it now so a missing bus fails here.
  const device = `/dev/i2c-${busNumber}`;
  try {
    await access(device, constants.R_OK | constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new I2cBusUnavailableError(
      code === 'EACCES' || code === 'EPERM'
        ? `no right to read and write ${device}: add this user to the group that owns it (on Raspberry Pi OS: i2c)`
        : `${device} does not exist: enable I2C (dtparam=i2c_arm=on in /boot/firmware/config.txt, then reboot) or pick another bus`,
    );
  }
  return i2c.openPromisified(busNumber);
}

const UNPLUGGED_CODES = new Set(['EREMOTEIO', 'ENXIO', 'EIO', 'ETIMEDOUT', 'ENODEV']);

/** An error of the bus itself (no device answering at the address, a bus fault, the adapter gone). */
export function isI2cBusError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && UNPLUGGED_CODES.has(code);
}
