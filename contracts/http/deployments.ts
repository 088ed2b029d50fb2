import { z } from 'zod';
import type { RolloutResult, RolloutStatus } from '../../workflows/rollout/contract.js';
import { isoTime, typedObject } from './common.js';
import type { Wire } from './wireTimes.js';
import { activeRolloutSchema, deploymentSchema, rolloutPolicyWire, servingChangeSchema, servingSchema } from './registry.js';

export const deploymentAnswerSchema = z.object({ deployment: deploymentSchema, serving: servingSchema }).meta({ id: 'DeploymentAnswer' });
export const deploymentListAnswerSchema = z
  .object({ deployments: z.array(deploymentSchema.extend({ serving: servingSchema })) })
  .meta({ id: 'DeploymentListAnswer' });
export const deploymentDetailAnswerSchema = z
  .object({
    deployment: deploymentSchema,
    serving: servingSchema,
    clients: z.array(z.string()).meta({ description: 'ids of the rovers assigned to it' }),
    rollout: z.object({
      policy: rolloutPolicyWire,
      defaults: z.boolean().meta({ description: 'true: no policy set, the defaults apply' }),
    }),
  })
  .meta({ id: 'DeploymentDetailAnswer' });
export const servingHistoryAnswerSchema = z
  .object({ deployment: z.string(), history: z.array(servingChangeSchema) })
  .meta({ id: 'ServingHistoryAnswer' });
export const rollbackAnswerSchema = z
  .object({ deployment: deploymentSchema, serving: servingSchema, change: servingChangeSchema })
  .meta({ id: 'RollbackAnswer' });

/** A deployment's Rollout workflow as Temporal sees it (null: it never had one). */
const rolloutWorkflowSchema = z
  .object({
    workflowId: z.string(),
    runId: z.string().optional(),
    status: z.string().meta({ description: 'Temporal’s status (RUNNING, COMPLETED, ...), or UNKNOWN while Temporal cannot be reached' }),
    ui: z.string().optional(),
    state: typedObject<Wire<RolloutStatus>>('while RUNNING: the workflow’s status query').optional(),
    result: typedObject<Wire<RolloutResult>>('once COMPLETED: how the rollout ended').optional(),
    error: z.string().optional(),
  })
  .nullable();

export const rolloutStatusAnswerSchema = z
  .object({
    deployment: z.string(),
    strategy: deploymentSchema.shape.strategy,
    currentVersion: z.number().int().nullable(),
    rollout: activeRolloutSchema.nullable(),
    policy: rolloutPolicyWire,
    workflow: rolloutWorkflowSchema,
  })
  .meta({ id: 'RolloutStatusAnswer' });
export const rolloutSignalAnswerSchema = z
  .object({
    deployment: z.string(),
    workflowId: z.string(),
    signal: z.enum(['promote', 'abort', 'pause', 'resume']),
    by: z.string(),
    reason: z.string().optional(),
  })
  .meta({ id: 'RolloutSignalAnswer' });

/** One Rollout run as Temporal's visibility lists it (control/rollouts.ts listRollouts). */
export const rolloutRunSchema = z
  .object({
    deploymentId: z.string(),
    modelName: z.string().nullable(),
    candidateVersion: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'null for a run neither running nor completed (continued as new, terminated)' }),
    workflowId: z.string(),
    runId: z.string(),
    status: z.string().meta({ description: 'Temporal’s status: RUNNING, COMPLETED, CONTINUED_AS_NEW, TERMINATED, ...' }),
    startTime: isoTime,
    closeTime: isoTime.nullable(),
    outcome: z.string().nullable().meta({ description: 'promoted, rolled-back, aborted, superseded, not-started; null while it runs' }),
    ui: z.string(),
  })
  .meta({ id: 'RolloutRun' });

export const rolloutListAnswerSchema = z.object({ rollouts: z.array(rolloutRunSchema) }).meta({ id: 'RolloutListAnswer' });

export const rolloutRunAnswerSchema = rolloutRunSchema
  .extend({
    state: typedObject<Wire<RolloutStatus>>(
      'while RUNNING: the workflow’s status query, with every look of this run in `checks`',
    ).optional(),
    result: typedObject<Wire<RolloutResult>>('once COMPLETED: how the rollout ended, with the evidence').optional(),
  })
  .meta({ id: 'RolloutRunAnswer' });

export type DeploymentDetailAnswer = z.infer<typeof deploymentDetailAnswerSchema>;
export type RolloutStatusAnswer = z.infer<typeof rolloutStatusAnswerSchema>;
export type RolloutListAnswer = z.infer<typeof rolloutListAnswerSchema>;
export type RolloutRunAnswer = z.infer<typeof rolloutRunAnswerSchema>;
