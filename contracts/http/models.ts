import { z } from 'zod';
import { modelSchema, modelVersionSchema, retrainRequestSchema, trialSchema } from './registry.js';

export const modelListAnswerSchema = z
  .object({ models: z.array(modelSchema.extend({ latestVersion: z.number().int().nullable() })) })
  .meta({ id: 'ModelListAnswer' });
export const modelAnswerSchema = z.object({ model: modelSchema }).meta({ id: 'ModelAnswer' });
export const modelDetailAnswerSchema = z
  .object({ model: modelSchema, versions: z.array(modelVersionSchema) })
  .meta({ id: 'ModelDetailAnswer' });
export const versionListAnswerSchema = z.object({ versions: z.array(modelVersionSchema) }).meta({ id: 'VersionListAnswer' });
export const versionDetailAnswerSchema = z
  .object({
    version: modelVersionSchema,
    lineage: z.object({
      trial: trialSchema.nullable(),
      workflow: z.object({ workflowId: z.string(), runId: z.string(), url: z.string() }),
      dataset: z.object({
        manifestKey: z.string(),
        sha256: z.string(),
        recordCount: z.number().int(),
        deployments: z.array(z.string()),
        manifest: z
          .object({
            width: z.number().int(),
            height: z.number().int(),
            labelMaxMm: z.number(),
            seed: z.number().int(),
            testFraction: z.number(),
            trainCount: z.number().int(),
            testCount: z.number().int(),
            policy: z.record(z.string(), z.unknown()).nullable().meta({ description: 'the dataset policy (null: before policies)' }),
          })
          .nullable()
          .meta({ description: 'what the dataset manifest says (null: the manifest is gone or unreadable)' }),
        labels: z
          .object({ n: z.number().int(), min: z.number(), max: z.number(), mean: z.number() })
          .nullable()
          .meta({ description: 'the laser labels trained on, in mm, clipped to 0..labelMaxMm (null: no reference profile)' }),
      }),
    }),
  })
  .meta({ id: 'VersionDetailAnswer' });
/** core/drift/referenceProfile.ts: what a version learned from, as stored. */
export const referenceProfileSchema = z
  .record(z.string(), z.unknown())
  .meta({ id: 'ReferenceProfile', description: 'the stored reference profile (core/drift/referenceProfile.ts)' });
export const trialListAnswerSchema = z.object({ trials: z.array(trialSchema) }).meta({ id: 'TrialListAnswer' });
export const trialDetailAnswerSchema = z
  .object({
    trial: trialSchema,
    registeredAs: z.object({ modelName: z.string(), version: z.number().int() }).nullable(),
    workflow: trialSchema.extend({ url: z.string() }),
  })
  .meta({ id: 'TrialDetailAnswer' });
export const retrainRequestListAnswerSchema = z
  .object({ requests: z.array(retrainRequestSchema) })
  .meta({ id: 'RetrainRequestListAnswer' });

export type ModelListAnswer = z.infer<typeof modelListAnswerSchema>;
export type VersionDetailAnswer = z.infer<typeof versionDetailAnswerSchema>;
export type RetrainRequestListAnswer = z.infer<typeof retrainRequestListAnswerSchema>;
