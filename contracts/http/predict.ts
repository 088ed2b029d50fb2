import { z } from 'zod';

/** The form fields of `POST /predict` beside the image (sent as multipart/form-data, so every value is a string). */
export const predictFieldsSchema = z.object({
  /** Old rovers send their id here; the token alone identifies the client now. */
  client_id: z.string().min(1).max(64).optional().meta({ description: 'the rover’s client id (optional: the token identifies it)' }),
  sensor_value: z
    .string()
    .regex(/^-?\d+(\.\d+)?$/, 'must be a number in mm')
    .transform(Number)
    // Any number the laser sends is kept: an error code (65535) or an impossible distance is marked, never refused.
    .pipe(z.number().finite())
    .optional()
    .meta({
      description:
        'the laser reading in mm (the label); left out when the sensor dropped out. Error codes and values outside 0..2000 mm are stored as sent, marked, and never a label',
    }),
  frame_age_ms: z
    .string()
    .regex(/^\d{1,12}$/, 'must be whole milliseconds')
    .transform(Number)
    .optional()
    .meta({
      description:
        'how long ago the rover took the frame, in ms, as it sends it (a frame kept while the API was unreachable): its record is dated at its capture. Relative, so a rover without a set clock dates it right',
    }),
});

/**
 * The header that makes a frame's upload safe to repeat: the API stores a frame sent twice with the same key (per
 * client) once, and answers the repeat as it answered the first (IETF draft-ietf-httpapi-idempotency-key-header).
 */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** Set on an answer given again for a key already answered. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

/** The whole multipart body as the API description shows it: the image file and the fields. */
export const predictFormSchema = predictFieldsSchema
  .extend({ image: z.string().meta({ format: 'binary', description: 'the camera frame as a JPEG file' }) })
  .meta({ id: 'PredictForm' });

/** The answer to a frame: the distance its deployment's model predicts, and which version predicted it. */
export const predictAnswerSchema = z
  .object({
    prediction_mm: z.number(),
    deployment: z.string(),
    model: z.object({ name: z.string(), version: z.number().int() }),
    request_id: z.string(),
  })
  .meta({ id: 'PredictAnswer' });
export type PredictAnswer = z.infer<typeof predictAnswerSchema>;
