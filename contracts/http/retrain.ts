import { z } from 'zod';
import type { TrainAndRegisterRequest, TrainAndRegisterResult, TrainProgress } from '../../workflows/trainAndRegister/contract.js';
import { isoTime, runLinksSchema, typedObject } from './common.js';
import { retrainCoverageSchema, retrainOutcomeSchema } from './registry.js';

/** The answer to a retrain ask: recorded, then started, joined, a duplicate, or pending while Temporal is away. */
export const retrainAnswerSchema = z
  .object({
    modelName: z.string(),
    outcome: retrainOutcomeSchema,
    coverage: retrainCoverageSchema.nullable(),
    workflowId: z.string().nullable(),
    runId: z.string().nullable(),
    requestId: z.number().int(),
    duplicateOf: z.number().int().optional(),
    links: runLinksSchema.optional(),
  })
  .meta({ id: 'RetrainAnswer' });

/** The TrainAndRegister request a rerun starts (workflows/trainAndRegister/contract.ts). */
const trainRequestSchema = typedObject<TrainAndRegisterRequest>('the TrainAndRegister request of the rerun');

export const rerunAnswerSchema = z
  .union([
    z.object({
      outcome: z.literal('dry-run'),
      workflowId: z.string(),
      request: trainRequestSchema,
      summary: z.string(),
      sweepInheritedFrom: z.enum(['source run', 'source version params']),
    }),
    retrainAnswerSchema.extend({ request: trainRequestSchema }),
  ])
  .meta({ id: 'RerunAnswer' });

/** A TrainAndRegister run: progress while it runs, its result once completed. */
export const trainingRunAnswerSchema = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    type: z.string(),
    status: z.string().meta({ description: 'Temporal’s status: RUNNING, COMPLETED, FAILED, CONTINUED_AS_NEW, ...' }),
    startTime: isoTime,
    closeTime: isoTime.nullable(),
    links: runLinksSchema,
    progress: typedObject<TrainProgress>('while RUNNING: the progress query’s answer (null without a worker)', {
      nullable: true,
    }).optional(),
    trialsTraining: z
      .array(z.object({ attempt: z.number().int(), epoch: z.number().int().nullable(), epochs: z.number().int().nullable() }))
      .optional()
      .meta({ description: 'while RUNNING: each trial in training, at its last heartbeat (null: no epoch reported yet)' }),
    result: typedObject<TrainAndRegisterResult>('once COMPLETED: the workflow’s result').optional(),
    continuedAs: z
      .object({ runId: z.string(), links: runLinksSchema })
      .nullable()
      .optional()
      .meta({ description: 'once CONTINUED_AS_NEW: the run it continued as' }),
  })
  .meta({ id: 'TrainingRunAnswer' });

/** Each alert of a Grafana notification answered on its own, with its own status (as in a multi-status body). */
export const alertResultSchema = z
  .union([
    retrainAnswerSchema.extend({ alert: z.string(), status: z.number().int() }),
    z.object({ alert: z.string(), status: z.number().int(), outcome: z.literal('ignored'), reason: z.string() }),
    z.object({
      alert: z.string(),
      status: z.number().int(),
      outcome: z.literal('error'),
      error: z.object({ code: z.string(), message: z.string() }),
    }),
  ])
  .meta({ id: 'AlertResult' });
export const webhookAnswerSchema = z.object({ results: z.array(alertResultSchema) }).meta({ id: 'WebhookAnswer' });

export type RetrainAnswer = z.infer<typeof retrainAnswerSchema>;
export type RerunAnswer = z.infer<typeof rerunAnswerSchema>;
export type TrainingRunAnswer = z.infer<typeof trainingRunAnswerSchema>;
