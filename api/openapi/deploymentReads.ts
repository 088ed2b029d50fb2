import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { fleetAnswerSchema, framesAnswerSchema, seriesAnswerSchema } from '../../contracts/http/measurements.js';
import { fleetQuery, framesQuery, seriesQuery } from '../routes/deploymentReads.js';
import { describeRoute } from './routeDoc.js';

const STORE_UNAVAILABLE = 'the registry or the measurement store cannot be reached';

/** api/routes/deploymentReads.ts */
export function describeDeploymentReadRoutes(registry: OpenAPIRegistry): void {
  const tag = 'measurements';
  describeRoute(registry, tag, {
    method: 'get',
    path: '/fleet',
    summary: 'A page of deployments with their serving, rovers and recent numbers (the console’s fleet page)',
    description:
      'Ordered by id; `next` is the `after` of the next page. Frames and mean laser errors of the last and previous 5 minutes, a one-minute sparkline of the last 30.',
    access: 'admin',
    query: fleetQuery,
    answers: [{ status: 200, description: 'the page', schema: fleetAnswerSchema }],
    errors: { 400: 'invalid_request: the query', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, tag, {
    method: 'get',
    path: '/deployments/:id/frames',
    summary: 'A deployment’s frames, newest first, with the path of each image',
    access: 'admin',
    query: framesQuery,
    answers: [{ status: 200, description: 'the frames', schema: framesAnswerSchema }],
    errors: { 400: 'invalid_request: the query', 404: 'not_found', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, tag, {
    method: 'get',
    path: '/deployments/:id/frames/:frameId/image',
    summary: 'A frame’s JPEG, as the rover sent it',
    access: 'admin',
    answers: [{ status: 200, description: 'the image', schema: z.string().meta({ format: 'binary' }), contentType: 'image/jpeg' }],
    errors: {
      404: 'not_found: the deployment, or the frame (unknown, malformed id, or its image is gone)',
      503: `${STORE_UNAVAILABLE}, or the object store`,
    },
  });
  describeRoute(registry, tag, {
    method: 'get',
    path: '/deployments/:id/series',
    summary: 'A deployment’s frames per time bucket: count and mean error, prediction and laser reading',
    description:
      'Every bucket of `since..until` (default the last hour) in steps of `stepMs` (default 60 s), at most 2000; an empty bucket has 0 frames and null means.',
    access: 'admin',
    query: seriesQuery.in,
    answers: [{ status: 200, description: 'the buckets', schema: seriesAnswerSchema }],
    errors: { 400: 'invalid_request: the query, or more than 2000 buckets', 404: 'not_found', 503: STORE_UNAVAILABLE },
  });
}
