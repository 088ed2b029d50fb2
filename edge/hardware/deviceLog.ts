/** What the devices log through: the agent's pino logger fits it; tests may pass their own or none. */
export interface DeviceLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export const silentLog: DeviceLog = { info: () => {}, warn: () => {}, error: () => {} };
