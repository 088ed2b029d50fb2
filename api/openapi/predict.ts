import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { predictAnswerSchema, predictFormSchema } from '../../contracts/http/predict.js';
import { describeRoute } from './routeDoc.js';

/** api/routes/predict.ts */
export function describePredictRoutes(registry: OpenAPIRegistry): void {
  describeRoute(registry, 'inference', {
    method: 'post',
    path: '/predict',
    summary: 'Predict the distance in one camera frame, and keep the frame',
    description:
      'The rover’s deployment’s model answers; the frame is durable in the spool before the answer, then stored and analysed. ' +
      'The body is multipart/form-data: the JPEG as the file field "image", and the fields.',
    access: 'client',
    form: predictFormSchema,
    answers: [{ status: 200, description: 'the prediction', schema: predictAnswerSchema }],
    errors: {
      400: 'invalid_request (form fields, Content-Length), missing_image, invalid_image, invalid_multipart',
      404: 'no_deployment: the client is not assigned to an existing deployment',
      408: 'request_timeout: the upload did not arrive within the upload deadline',
      413: 'payload_too_large, image_too_large',
      415: 'unsupported_media_type: the image is not a JPEG',
      422: 'image_dimensions, image_aspect_ratio',
      429: 'too_many_inflight: this client has its share of frames in flight (Retry-After)',
      503: 'overloaded, spool_full, spool_unavailable, registry_unavailable, model_unavailable (Retry-After); no_model: nothing to predict with yet, the frame was recorded',
    },
  });
}
