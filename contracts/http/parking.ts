import { z } from 'zod';
import { PARKING_OUTCOMES, STEERING_MODES } from '../../core/parking/parkingOutcome.js';
import { isoTime } from './common.js';

/**
 * Parking runs: what a rover reports at the end of each run (`POST /parking-runs`, with its own token), and what the
 * API answers about them. A run is the metric users care about: did the rover stop in the stop zone (0-20 mm)?
 */

/** Frames of a run by what the speed decision after them was based on. */
export const steeredFramesSchema = z
  .object({
    model: z.number().int().min(0).meta({ description: 'by a fresh prediction (the laser backing it up at the stop)' }),
    laser: z.number().int().min(0).meta({ description: 'by the laser (the baseline, or no fresh prediction)' }),
    stopped: z.number().int().min(0).meta({ description: 'stopped: neither a reading nor a fresh prediction' }),
  })
  .meta({ id: 'SteeredFrames' });

export const parkingRunReportSchema = z
  .object({
    runId: z
      .string()
      .min(8)
      .max(64)
      .regex(/^[A-Za-z0-9._:-]+$/)
      .meta({
        description: 'the rover’s own id for the run (a UUID): reporting the same run twice stores it once',
      }),
    mode: z.enum(STEERING_MODES).meta({ description: 'what the rover was told to steer by' }),
    startedAt: isoTime,
    endedAt: isoTime,
    frames: z.number().int().min(0).max(100_000),
    steered: steeredFramesSchema,
    outcome: z.enum(PARKING_OUTCOMES),
    finalLaserMm: z.number().nullable().meta({ description: 'the laser’s reading once stopped; null: none' }),
    finalTrueMm: z.number().nullable().optional().meta({ description: 'simulated rovers only: the true final distance' }),
    modelVersion: z.number().int().nullable().meta({ description: 'the version that answered most of the run’s frames' }),
    stopReason: z.enum(['laser', 'model', 'blind', 'max-frames', 'aborted']).meta({
      description:
        'what stopped the run: the laser or the model at <= 20 mm, no reading and no fresh prediction, the frame bound, or an abort',
    }),
    simulated: z.boolean().optional(),
    preset: z.string().max(64).optional().meta({ description: 'simulated rovers: the world it drove in' }),
  })
  .meta({ id: 'ParkingRunReport' });
export type ParkingRunReport = z.infer<typeof parkingRunReportSchema>;

export const parkingRunSchema = parkingRunReportSchema
  .extend({ client: z.string(), deployment: z.string().nullable(), receivedAt: isoTime })
  .meta({ id: 'ParkingRun' });

export const parkingRunAnswerSchema = z
  .object({ run: parkingRunSchema, replayed: z.boolean().meta({ description: 'true: this run was already stored' }) })
  .meta({ id: 'ParkingRunAnswer' });
export const parkingRunListAnswerSchema = z.object({ runs: z.array(parkingRunSchema) }).meta({ id: 'ParkingRunListAnswer' });

/** A deployment's parking success, by steering mode and model version. */
export const parkingSuccessSchema = z
  .object({
    mode: z.enum(STEERING_MODES),
    modelVersion: z.number().int().nullable(),
    runs: z.number().int(),
    parked: z.number().int(),
    hit: z.number().int(),
    early: z.number().int(),
    successRate: z.number().meta({ description: 'parked / runs' }),
    parkedByModel: z.number().int().meta({
      description: 'model-steered runs the model itself stopped in the stop zone (the camera’s own success; the laser backs it up)',
    }),
    laserStops: z.number().int().meta({ description: 'model-steered runs the laser had to stop: the camera would have driven on' }),
    meanFinalMm: z.number().nullable(),
  })
  .meta({ id: 'ParkingSuccess' });
export const parkingSummaryAnswerSchema = z
  .object({ deployment: z.string(), since: isoTime.nullable(), groups: z.array(parkingSuccessSchema) })
  .meta({ id: 'ParkingSummaryAnswer' });
