import { z } from 'zod';
import { isoTime } from './common.js';
import { monitorConfigWire } from './registry.js';

/** Where a model's drift monitor stands in Temporal: its schedule, or why it has none. */
export const monitorScheduleSchema = z
  .union([
    z.object({ scheduleId: z.string(), state: z.literal('absent'), reason: z.string() }),
    z.object({
      scheduleId: z.string(),
      state: z.enum(['active', 'paused']),
      intervalSeconds: z.number(),
      nextChecks: z.array(isoTime),
      recentChecks: z.array(z.object({ scheduledAt: isoTime, workflowId: z.string(), runId: z.string() })),
      note: z.string().optional().meta({ description: 'why it is paused, when it is' }),
    }),
  ])
  .meta({ id: 'MonitorSchedule' });

export const monitorAnswerSchema = z
  .object({
    modelName: z.string(),
    config: monitorConfigWire,
    defaults: z.boolean().meta({ description: 'true: no config set, the defaults apply' }),
    schedule: monitorScheduleSchema,
  })
  .meta({ id: 'MonitorAnswer' });

export const monitorCheckAnswerSchema = z
  .object({ modelName: z.string(), scheduleId: z.string(), triggered: z.literal(true) })
  .meta({ id: 'MonitorCheckAnswer' });

export type MonitorSchedule = z.infer<typeof monitorScheduleSchema>;
export type MonitorAnswer = z.infer<typeof monitorAnswerSchema>;
