import { z } from 'zod';
import { SENSOR_FAULT_KINDS, type SensorFaultKind } from '../../core/sensors/sensorHealth.js';
import { isoTime } from './common.js';

/** Suspect lasers (core/stores/registry.ts SensorFault) as the API answers them. */
export const sensorFaultKindSchema = z.enum(SENSOR_FAULT_KINDS as readonly SensorFaultKind[] as [SensorFaultKind, ...SensorFaultKind[]]);

export const sensorFaultSchema = z
  .object({
    id: z.number().int(),
    client: z.string(),
    deployment: z.string(),
    kinds: z.array(sensorFaultKindSchema),
    evidence: z
      .record(z.string(), z.union([z.number(), z.string(), z.null()]))
      .meta({ description: 'the numbers each detector looked at' }),
    summary: z.string(),
    since: isoTime.meta({ description: 'the estimated onset: the rover’s frames from here until it is cleared are left out' }),
    flaggedAt: isoTime,
    updatedAt: isoTime.meta({ description: 'the last check that found it suspect' }),
    clearedAt: isoTime.nullable(),
    clearedBy: z
      .string()
      .nullable()
      .meta({ description: 'who cleared it; `sensor-health` when its readings were healthy for the stated time' }),
    clearReason: z.string().nullable(),
  })
  .meta({ id: 'SensorFault' });

export const sensorFaultListAnswerSchema = z.object({ faults: z.array(sensorFaultSchema) }).meta({ id: 'SensorFaultListAnswer' });

export const sensorFaultAnswerSchema = z.object({ fault: sensorFaultSchema }).meta({ id: 'SensorFaultAnswer' });

/** One rover of a deployment: suspect while it has an open fault. */
export const roverSensorSchema = z.object({
  client: z.string(),
  status: z.enum(['healthy', 'suspect']),
  /** The open fault, or the rover's newest cleared one; null: never flagged. */
  fault: sensorFaultSchema.nullable(),
});

export const deploymentSensorsAnswerSchema = z
  .object({
    deployment: z.string(),
    rovers: z.array(roverSensorSchema),
  })
  .meta({ id: 'DeploymentSensorsAnswer' });

export type DeploymentSensorsAnswer = z.infer<typeof deploymentSensorsAnswerSchema>;
