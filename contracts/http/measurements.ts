import { z } from 'zod';
import { SENSOR_FAULT_KINDS, type SensorFaultKind } from '../../core/sensors/sensorHealth.js';
import {
  DRIFT_VERDICTS,
  type CovariateEvidence,
  type DriftVerdict,
  type LabelEvidence,
  type PerformanceEvidence,
} from '../../core/drift/driftReport.js';
import { DEPLOYMENT_STRATEGIES } from '../../core/rollout/rolloutPolicy.js';
import { ROLLOUT_STAGES } from '../../core/stores/registry.js';
import { isoTime, runLinksSchema, typedObject } from './common.js';

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
    sensors: z
      .object({
        suspects: z.array(
          z.object({
            client: z.string(),
            fault: z.number().int(),
            kinds: z.array(z.enum(SENSOR_FAULT_KINDS as readonly SensorFaultKind[] as [SensorFaultKind, ...SensorFaultKind[]])),
            since: isoTime,
            summary: z.string(),
          }),
        ),
      })
      .optional()
      .meta({ description: 'the sensor check before it: rovers with an open sensor fault, left out of this check' }),
  })
  .meta({ id: 'DriftCheck' });

/** What a drift check did about a retrain (core/drift/checkRetrains.ts), with the run that acts on it and what it registered. */
export const checkRetrainSchema = z
  .union([
    z.object({
      asked: z.literal(true),
      reason: z.string(),
      requestId: z.number().int(),
      outcome: z.enum(['pending', 'started', 'joined', 'duplicate', 'ignored']),
      workflowId: z.string().nullable(),
      runId: z.string().nullable(),
      coverage: z.enum(['this-run', 'follow-up-run']).nullable(),
      duplicateOf: z.number().int().nullable(),
      links: runLinksSchema.nullable().meta({ description: 'the run acting on it (for a duplicate: the run of the request it repeats)' }),
      version: z.number().int().nullable().meta({ description: 'the version that run registered, if any yet' }),
    }),
    z.object({ asked: z.literal(false), reason: z.string() }),
  ])
  .meta({ id: 'CheckRetrain' });

export const driftChecksAnswerSchema = z
  .object({ deployment: z.string(), checks: z.array(driftCheckSchema.extend({ retrain: checkRetrainSchema })) })
  .meta({ id: 'DriftChecksAnswer' });

const meanOrNull = z.number().nullable();

/** One deployment on the fleet page (control/deploymentReads.ts fleetPage). */
export const fleetRowSchema = z
  .object({
    id: z.string(),
    modelName: z.string(),
    modelVersion: z.union([z.literal('latest'), z.number().int()]),
    servingVersion: z.number().int().nullable().meta({ description: 'the version every rover outside a canary gets now' }),
    strategy: z.enum(DEPLOYMENT_STRATEGIES),
    rollout: z
      .object({ stage: z.enum(ROLLOUT_STAGES), candidateVersion: z.number().int(), currentVersion: z.number().int().nullable() })
      .nullable(),
    rovers: z.array(z.string()),
    suspectRovers: z.array(z.string()).meta({ description: 'rovers with an open sensor fault here (GET /deployments/:id/sensors)' }),
    framesLast5m: z.number().int(),
    framesPerSecond: z.number(),
    meanError: z.object({ last5m: meanOrNull, previous5m: meanOrNull }).meta({ description: 'mean laser error (mm)' }),
    lastFrameAt: isoTime.nullable(),
    lastDrift: z
      .object({ time: isoTime, verdict: z.enum(DRIFT_VERDICTS as readonly DriftVerdict[] as [DriftVerdict, ...DriftVerdict[]]) })
      .nullable(),
    sparkline: z
      .array(z.object({ time: isoTime, meanError: meanOrNull, frames: z.number().int() }))
      .meta({ description: 'one point per minute of the last 30 minutes, oldest first' }),
  })
  .meta({ id: 'FleetRow' });

export const fleetAnswerSchema = z
  .object({
    at: isoTime,
    deployments: z.array(fleetRowSchema),
    next: z.string().nullable().meta({ description: 'the `after` of the next page; null: this is the last' }),
  })
  .meta({ id: 'FleetAnswer' });

export const framesAnswerSchema = z
  .object({
    frames: z.array(
      z.object({
        id: z.string().nullable().meta({ description: 'the request id of the frame (null for an image key of another form)' }),
        time: isoTime,
        client: z.string(),
        modelVersion: z.number().int().nullable(),
        prediction: meanOrNull,
        sensorValue: meanOrNull,
        error: meanOrNull,
        latencyMs: z.number(),
        image: z.string().nullable().meta({ description: 'the path of the frame’s JPEG' }),
        sensorStatus: z
          .enum(['out-of-range', 'error-code'])
          .nullable()
          .meta({ description: 'an invalid laser reading, stored as sent: no error, no label' }),
        suspect: z.boolean().meta({ description: 'inside a sensor fault of its rover: left out of training, drift and rollout evidence' }),
      }),
    ),
    next: isoTime.nullable().meta({ description: 'the `before` of the next page; null: this is the last' }),
  })
  .meta({ id: 'FramesAnswer' });

export const seriesAnswerSchema = z
  .object({
    points: z.array(
      z.object({ time: isoTime, frames: z.number().int(), meanError: meanOrNull, meanPrediction: meanOrNull, meanSensor: meanOrNull }),
    ),
  })
  .meta({ id: 'SeriesAnswer' });

export type DeploymentStatsAnswer = z.infer<typeof deploymentStatsAnswerSchema>;
export type DriftCheck = z.infer<typeof driftCheckSchema>;
export type DriftChecksAnswer = z.infer<typeof driftChecksAnswerSchema>;
export type FleetAnswer = z.infer<typeof fleetAnswerSchema>;
export type FleetRow = z.infer<typeof fleetRowSchema>;
export type FramesAnswer = z.infer<typeof framesAnswerSchema>;
export type SeriesAnswer = z.infer<typeof seriesAnswerSchema>;
