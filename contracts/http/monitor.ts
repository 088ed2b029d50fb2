import { z } from 'zod';
import { REARM_STATES } from '../../core/drift/rearm.js';
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

/** Where re-arming stands (control/driftRearm.ts): the day's re-asks against the cap, and each drift asked for already. */
export const rearmStatusSchema = z
  .object({
    maxPerDay: z.number().int().meta({ description: 'the cap: re-asks per model in any 24 hours (config rearm.maxPerDay)' }),
    reasksToday: z
      .array(
        z.object({
          requestId: z.number().int(),
          deployment: z.string(),
          modelVersion: z.number().int(),
          of: z.number().int().meta({ description: 'the retrain request it repeats' }),
          attempt: z.number().int().meta({ description: '1 for the first re-ask of a drift' }),
          because: z.enum(['new-frames', 'back-off']),
          at: isoTime,
        }),
      )
      .meta({ description: 'the model’s re-asks in the last 24 hours, oldest first' }),
    drifts: z
      .array(
        z.object({
          deployment: z.string(),
          modelVersion: z.number().int(),
          firstRequestId: z.number().int().meta({ description: 'the drift’s first ask' }),
          lastRequestId: z.number().int().meta({ description: 'its latest ask (the first, or the latest re-ask)' }),
          attempt: z.number().int(),
          state: z.enum(REARM_STATES).meta({
            description:
              'armed: the next check asks again; waiting: too few new frames and the back-off not over; capped: the day’s re-asks are used; run-in-progress, registered, unknown (Temporal unreachable), off (maxPerDay 0)',
          }),
          reason: z.string(),
          framesNeeded: z
            .number()
            .int()
            .nullable()
            .meta({ description: 'new labelled frames that re-arm (null: the retrain left no dataset)' }),
          newFrames: z.number().int().meta({ description: 'labelled frames of the deployment newer than that retrain’s dataset' }),
          backoffUntil: isoTime,
          capFreesAt: isoTime.optional(),
        }),
      )
      .meta({ description: 'deployments whose latest check found a drift the monitor asked for already' }),
  })
  .meta({ id: 'RearmStatus' });

export const monitorAnswerSchema = z
  .object({
    modelName: z.string(),
    config: monitorConfigWire,
    defaults: z.boolean().meta({ description: 'true: no config set, the defaults apply' }),
    schedule: monitorScheduleSchema,
    rearm: rearmStatusSchema,
  })
  .meta({ id: 'MonitorAnswer' });

export const monitorCheckAnswerSchema = z
  .object({ modelName: z.string(), scheduleId: z.string(), triggered: z.literal(true) })
  .meta({ id: 'MonitorCheckAnswer' });

export type MonitorSchedule = z.infer<typeof monitorScheduleSchema>;
export type MonitorAnswer = z.infer<typeof monitorAnswerSchema>;
