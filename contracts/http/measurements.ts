import { z } from 'zod';
import {
  DRIFT_VERDICTS,
  type CovariateEvidence,
  type DriftVerdict,
  type LabelEvidence,
  type PerformanceEvidence,
} from '../../core/drift/driftReport.js';
import { isoTime, typedObject } from './common.js';

/** What the measurement store answers about a deployment's frames (core/stores/measurements.ts). */

export const deploymentStatsAnswerSchema = z
  .object({
    stats: z.object({
      deployment: z.string(),
      count: z.number().int(),
      labelledCount: z.number().int(),
      sensorMin: z.number().nullable(),
      sensorMax: z.number().nullable(),
      predictionMin: z.number().nullable(),
      predictionMax: z.number().nullable(),
      meanError: z.number().nullable(),
      maxError: z.number().nullable(),
      modelName: z.string().nullable(),
      modelVersion: z.number().int().nullable(),
    }),
  })
  .meta({ id: 'DeploymentStatsAnswer' });

export const histogramAnswerSchema = z
  .object({ field: z.string(), bins: z.array(z.object({ lower: z.number(), upper: z.number(), count: z.number().int() })) })
  .meta({ id: 'HistogramAnswer' });

export const meansAnswerSchema = z
  .object({
    field: z.string(),
    windowMs: z.number().int(),
    windows: z.array(z.object({ time: isoTime, mean: z.number().nullable(), count: z.number().int() })),
  })
  .meta({ id: 'MeansAnswer' });

/** One drift check of a deployment with its evidence (core/drift/driftReport.ts). */
export const driftCheckSchema = z
  .object({
    time: isoTime,
    deployment: z.string(),
    modelName: z.string(),
    modelVersion: z.number().int().nullable(),
    verdict: z.enum(DRIFT_VERDICTS as readonly DriftVerdict[] as [DriftVerdict, ...DriftVerdict[]]),
    kinds: z.array(z.enum(['covariate', 'label', 'performance'])),
    summary: z.string(),
    windowFrames: z.number().int(),
    windowStart: isoTime.nullable(),
    windowEnd: isoTime.nullable(),
    covariate: typedObject<CovariateEvidence>('the features’ evidence (null when not tested)', { nullable: true }),
    label: typedObject<LabelEvidence>('the laser readings’ evidence (null when not tested)', { nullable: true }),
    performance: typedObject<PerformanceEvidence>('the live errors’ evidence (null when not tested)', { nullable: true }),
  })
  .meta({ id: 'DriftCheck' });

export const driftChecksAnswerSchema = z
  .object({ deployment: z.string(), checks: z.array(driftCheckSchema) })
  .meta({ id: 'DriftChecksAnswer' });

export type DeploymentStatsAnswer = z.infer<typeof deploymentStatsAnswerSchema>;
export type DriftCheck = z.infer<typeof driftCheckSchema>;
export type DriftChecksAnswer = z.infer<typeof driftChecksAnswerSchema>;
