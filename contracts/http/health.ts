import { z } from 'zod';

export const livenessAnswerSchema = z.object({ status: z.literal('ok') }).meta({ id: 'LivenessAnswer' });

const checkStatus = z.enum(['ok', 'down']);
export const readinessAnswerSchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.record(z.string(), checkStatus).meta({ description: 'registry, objects, measurements, temporal, workers' }),
    details: z
      .record(z.string(), z.object({ status: checkStatus, ms: z.number(), error: z.string().optional() }))
      .optional()
      .meta({ description: 'with the admin token: why and how long each check took' }),
    mlBackend: z.string().optional().meta({ description: 'with the admin token' }),
    analysis: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'with the admin token: the frame analysis queue and spool' }),
  })
  .meta({ id: 'ReadinessAnswer' });

export const replicaReadinessAnswerSchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    reason: z
      .enum(['shutting_down', 'spool_full'])
      .optional()
      .meta({ description: 'why not: the process is stopping (SIGTERM), or its spool is at SPOOL_MAX_BYTES' }),
  })
  .meta({ id: 'ReplicaReadinessAnswer' });
