import { z } from 'zod';
import { deploymentStrategySchema, rolloutPolicySchema } from '../../core/rollout/rolloutPolicy.js';
import { monitorConfigSchema } from '../../core/drift/monitorConfig.js';
import { ROLLOUT_STAGES, SERVING_CHANGE_REASONS } from '../../core/stores/registry.js';
import { isoTime, metricsSchema, paramsSchema } from './common.js';

/** What the registry's records look like on the wire (core/stores/registry.ts; a client's token hash is never sent). */

/** The core schemas, named in the API description. */
export const monitorConfigWire = monitorConfigSchema.meta({ id: 'MonitorConfig' });
export const rolloutPolicyWire = rolloutPolicySchema.meta({ id: 'RolloutPolicy' });

export const clientSchema = z
  .object({ id: z.string(), name: z.string(), deploymentId: z.string().nullable(), createdAt: isoTime })
  .meta({ id: 'Client', description: 'A rover registered to send frames (its token is never shown again).' });

export const activeRolloutSchema = z
  .object({
    candidateVersion: z.number().int(),
    stage: z.enum(ROLLOUT_STAGES),
    canaryClients: z.array(z.string()),
    workflowId: z.string(),
    startedAt: isoTime,
    stageStartedAt: isoTime,
  })
  .meta({ id: 'ActiveRollout' });

export const deploymentSchema = z
  .object({
    id: z.string(),
    modelName: z.string(),
    modelVersion: z.union([z.number().int(), z.literal('latest')]),
    strategy: deploymentStrategySchema,
    rolloutPolicy: rolloutPolicyWire.nullable().meta({ description: 'as last set; null: the defaults' }),
    currentVersion: z.number().int().nullable().meta({ description: 'the version its rovers get (as serving.version)' }),
    rollout: activeRolloutSchema.nullable(),
    createdAt: isoTime,
  })
  .meta({ id: 'Deployment', description: 'Which model (and version) a group of rovers gets, and how new versions roll out.' });

export const servingSchema = z
  .object({
    modelName: z.string(),
    version: z.number().int().nullable().meta({ description: 'the version its rovers get (null: the model has none yet)' }),
    how: z.enum(['direct', 'pinned', 'rollout']),
    rollout: z.object({ candidateVersion: z.number().int(), stage: z.enum(ROLLOUT_STAGES), canaryClients: z.array(z.string()) }).nullable(),
  })
  .meta({ id: 'Serving', description: 'What a deployment’s rovers get now, resolved as /predict resolves it.' });

export const servingChangeSchema = z
  .object({
    id: z.number().int(),
    deploymentId: z.string(),
    at: isoTime,
    modelName: z.string(),
    toVersion: z.number().int().nullable(),
    fromModelName: z.string().nullable(),
    fromVersion: z.number().int().nullable(),
    reason: z.enum(SERVING_CHANGE_REASONS),
    by: z.string(),
    note: z.unknown(),
    comment: z.string().nullable(),
    kind: z.enum(['serving-change', 'rollout-stage']).meta({
      description:
        'serving-change: what every rover gets changed; rollout-stage: a candidate under test (rovers outside a canary kept their version)',
    }),
    servedBefore: z.number().int().nullable(),
    servedAfter: z.number().int().nullable(),
    candidateVersion: z.number().int().nullable(),
    summary: z.string(),
  })
  .meta({ id: 'ServingChange', description: 'One change of the version a deployment serves, or one stage of a rollout.' });

export const modelSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    trainingConfig: z
      .record(z.string(), z.unknown())
      .nullable()
      .meta({ description: 'as set by PUT /models/{name}/training-config (the TrainingConfig schema)' }),
    monitorConfig: monitorConfigWire.nullable().meta({ description: 'as last set; null: the defaults' }),
    createdAt: isoTime,
  })
  .meta({ id: 'Model' });

export const modelVersionSchema = z
  .object({
    modelName: z.string(),
    version: z.number().int(),
    artifactKey: z.string(),
    artifactSha256: z.string(),
    architecture: z.string(),
    metrics: metricsSchema,
    params: paramsSchema,
    trialId: z.string(),
    workflowId: z.string(),
    runId: z.string(),
    datasetKey: z.string(),
    datasetSha256: z.string(),
    sourceDeployments: z.array(z.string()),
    recordCount: z.number().int(),
    comparison: z
      .object({
        previousVersion: z.number().int(),
        metrics: metricsSchema,
        stopBand: z
          .object({
            pairs: z.number().int(),
            meanErrorCurrent: z.number().nullable(),
            meanErrorCandidate: z.number().nullable(),
            meanDifference: z.number().nullable(),
            statistic: z.number(),
            pCandidateBetter: z.number(),
            pCandidateWorse: z.number(),
          })
          .optional()
          .meta({ description: 'both versions on the test frames with a laser reading <= 100 mm, paired (versions registered since)' }),
      })
      .nullable(),
    referenceProfile: z.object({ key: z.string(), sha256: z.string() }).nullable(),
    createdAt: isoTime,
  })
  .meta({ id: 'ModelVersion' });

export const trialSchema = z
  .object({
    id: z.string(),
    workflowId: z.string(),
    runId: z.string(),
    modelName: z.string(),
    params: paramsSchema,
    metrics: metricsSchema,
    history: z.record(z.string(), z.array(z.number())),
    artifactKey: z.string(),
    artifactSha256: z.string(),
    datasetKey: z.string(),
    createdAt: isoTime,
  })
  .meta({ id: 'Trial' });

export const retrainOutcomeSchema = z.enum(['pending', 'started', 'joined', 'duplicate', 'ignored']);
export const retrainCoverageSchema = z.enum(['this-run', 'follow-up-run']);

export const retrainRequestSchema = z
  .object({
    id: z.number().int(),
    modelName: z.string(),
    trigger: z.string().meta({ description: 'grafana, manual, cli or drift-monitor' }),
    payload: z.unknown(),
    workflowId: z.string().nullable(),
    runId: z.string().nullable(),
    outcome: retrainOutcomeSchema,
    coverage: retrainCoverageSchema.nullable(),
    dedupeKey: z.string().nullable(),
    duplicateOf: z.number().int().nullable(),
    createdAt: isoTime,
  })
  .meta({ id: 'RetrainRequest', description: 'One ask for a retrain, as recorded, and what came of it.' });

export type Client = z.infer<typeof clientSchema>;
export type DeploymentView = z.infer<typeof deploymentSchema>;
export type ModelView = z.infer<typeof modelSchema>;
export type ModelVersionView = z.infer<typeof modelVersionSchema>;
export type RetrainRequestView = z.infer<typeof retrainRequestSchema>;
