/**
 * The VL53L0X's registers as ST names them (datasheet DS11555, API STSW-IMG005 vl53l0x_device.h): the driver
 * (vl53l0x.ts) and the simulated sensor (simulatedVl53l0x.ts) both speak this map. Addresses are on page 0 unless
 * written after selecting another page with PAGE_SELECT.
 */
export const REG = {
  SYSRANGE_START: 0x00,
  SYSTEM_SEQUENCE_CONFIG: 0x01,
  SYSTEM_INTERMEASUREMENT_PERIOD: 0x04,
  SYSTEM_INTERRUPT_CONFIG_GPIO: 0x0a,
  SYSTEM_INTERRUPT_CLEAR: 0x0b,
  RESULT_INTERRUPT_STATUS: 0x13,
  RESULT_RANGE_STATUS: 0x14,
  FINAL_RANGE_CONFIG_MIN_COUNT_RATE_RTN_LIMIT: 0x44,
  MSRC_CONFIG_TIMEOUT_MACROP: 0x46,
  DYNAMIC_SPAD_NUM_REQUESTED_REF_SPAD: 0x4e,
  DYNAMIC_SPAD_REF_EN_START_OFFSET: 0x4f,
  PRE_RANGE_CONFIG_VCSEL_PERIOD: 0x50,
  PRE_RANGE_CONFIG_TIMEOUT_MACROP_HI: 0x51,
  MSRC_CONFIG_CONTROL: 0x60,
  FINAL_RANGE_CONFIG_VCSEL_PERIOD: 0x70,
  FINAL_RANGE_CONFIG_TIMEOUT_MACROP_HI: 0x71,
  POWER_MANAGEMENT_GO1_POWER_FORCE: 0x80,
  GPIO_HV_MUX_ACTIVE_HIGH: 0x84,
  I2C_MODE: 0x88,
  VHV_CONFIG_PAD_SCL_SDA_EXTSUP_HV: 0x89,
  GLOBAL_CONFIG_SPAD_ENABLES_REF_0: 0xb0,
  GLOBAL_CONFIG_REF_EN_START_SELECT: 0xb6,
  IDENTIFICATION_MODEL_ID: 0xc0,
  IDENTIFICATION_REVISION_ID: 0xc2,
  OSC_CALIBRATE_VAL: 0xf8,
  PAGE_SELECT: 0xff,
} as const;

/** On page 1, with POWER_FORCE set and register 0x00 cleared: where the sensor keeps its stop variable. */
export const STOP_VARIABLE = 0x91;

/** The NVM read-out on pages 6 and 7 that yields the reference SPAD count and type (ST: get_info_from_device). */
export const NVM = {
  CONTROL: 0x83,
  STROBE_ENABLE: 0x81,
  COMMAND: 0x94,
  SPAD_INFO_COMMAND: 0x6b,
  DATA: 0x92,
} as const;

export const MODEL_ID = 0xee;

/**
 * SYSRANGE_START values. ST calls 0x00 MODE_SINGLESHOT (no continuous ranging: what StopMeasurement writes) and 0x01
 * MODE_START_STOP (start one measurement).
 */
export const RANGE_MODE = { STOP: 0x00, SINGLE_SHOT: 0x01, BACK_TO_BACK: 0x02, TIMED: 0x04, VHV_INIT: 0x40 } as const;

/** SYSTEM_SEQUENCE_CONFIG bits: which steps a measurement runs. */
export const STEP = { VHV: 0x01, PHASE: 0x02, TCC: 0x10, DSS: 0x08, MSRC: 0x04, PRE_RANGE: 0x40, FINAL_RANGE: 0x80 } as const;

/** SYSTEM_INTERRUPT_CONFIG_GPIO value: interrupt on a new sample. */
export const INTERRUPT_NEW_SAMPLE_READY = 0x04;

/** Device range statuses (bits 3..6 of RESULT_RANGE_STATUS), ST's VL53L0X_DEVICEERROR_* names. */
export const DEVICE_RANGE_STATUS: Record<number, string> = {
  0: 'none',
  1: 'VCSEL continuity test failure',
  2: 'VCSEL watchdog test failure',
  3: 'no VHV value found',
  4: 'MSRC no target',
  5: 'SNR check',
  6: 'range phase check',
  7: 'sigma threshold check',
  8: 'TCC',
  9: 'phase consistency',
  10: 'min clip',
  11: 'range complete',
  12: 'algo underflow',
  13: 'algo overflow',
  14: 'range ignore threshold',
};
export const RANGE_COMPLETE = 11;
/** Statuses that mean nothing was in range (no target for MSRC, the return's phase out of bounds). */
export const NOTHING_IN_RANGE_STATUSES: readonly number[] = [4, 6, 9];

/** The range register's values for "nothing in range" (8190; 8191 on some parts) and the drivers' timeout code. */
export const OUT_OF_RANGE_VALUES: readonly number[] = [8190, 8191];
export const TIMEOUT_VALUE = 65535;
