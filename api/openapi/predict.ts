import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAYED_HEADER,
  predictAnswerSchema,
  predictFormSchema,
} from '../../contracts/http/predict.js';
import { describeRoute } from './routeDoc.js';

/** api/routes/predict.ts */
export function describePredictRoutes(registry: OpenAPIRegistry): void {
  describeRoute(registry, 'inference', {
    method: 'post',
    path: '/predict',
    summary: 'Predict the distance in one camera frame, and keep the frame',
    description:
      'The rover’s deployment’s model answers; the frame is durable in the spool before the answer, then stored and analysed. ' +
      'The body is multipart/form-data: the JPEG as the file field "image", and the fields. ' +
      `With an ${IDEMPOTENCY_KEY_HEADER}, a frame sent again (the rover did not hear the answer) is stored once: a repeat of a ` +
      `key already answered gets that answer again with ${IDEMPOTENT_REPLAYED_HEADER}: true (keys are per client, kept for IDEMPOTENCY_KEY_TTL_HOURS).`,
    access: 'client',
    headers: z.object({
      [IDEMPOTENCY_KEY_HEADER]: z
        .string()
        .min(1)
        .max(255)
        .optional()
        .meta({ description: 'a key of this frame, unique per frame of this rover (a UUID): 1 to 255 printable ASCII characters' }),
    }),
    form: predictFormSchema,
    answers: [{ status: 200, description: 'the prediction (again, for a repeated key)', schema: predictAnswerSchema }],
    errors: {
      400: 'invalid_request (form fields, Content-Length), missing_image, invalid_image, invalid_multipart, invalid_idempotency_key, frame_too_old (frame_age_ms beyond FRAME_MAX_AGE_HOURS)',
      404: 'no_deployment: the client is not assigned to an existing deployment',
      408: 'request_timeout: the upload did not arrive within the upload deadline',
      413: 'payload_too_large, image_too_large',
      415: 'unsupported_media_type: the image is not a JPEG',
      409: 'idempotency_in_progress: the frame of this key is being handled; send it again for its answer (Retry-After)',
      422: 'image_dimensions, image_aspect_ratio; idempotency_key_reused: the key was used for another frame',
      429: 'too_many_inflight: this client has its share of frames in flight (Retry-After)',
      503: 'overloaded, spool_full, spool_unavailable, registry_unavailable, model_unavailable (Retry-After); no_model: nothing to predict with yet, the frame was recorded',
    },
  });
}
