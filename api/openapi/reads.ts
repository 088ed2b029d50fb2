import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { deploymentStatsAnswerSchema, histogramAnswerSchema, meansAnswerSchema } from '../../contracts/http/measurements.js';
import {
  modelDetailAnswerSchema,
  modelListAnswerSchema,
  referenceProfileSchema,
  retrainRequestListAnswerSchema,
  trialDetailAnswerSchema,
  trialListAnswerSchema,
  versionDetailAnswerSchema,
  versionListAnswerSchema,
} from '../../contracts/http/models.js';
import { histogramQuery, meansQuery, range, trialsQuery, versionParam } from '../routes/reads.js';
import { describeRoute } from './routeDoc.js';

const STORE_UNAVAILABLE = 'the registry or the measurement store cannot be reached';
const versionParams = z.object({ name: z.string(), version: versionParam });

/** api/routes/reads.ts */
export function describeReadRoutes(registry: OpenAPIRegistry): void {
  const models = 'models';
  describeRoute(registry, models, {
    method: 'get',
    path: '/models',
    summary: 'Every model, with its newest version number',
    access: 'admin',
    answers: [{ status: 200, description: 'the models', schema: modelListAnswerSchema }],
    errors: { 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, models, {
    method: 'get',
    path: '/models/:name',
    summary: 'One model and its versions',
    access: 'admin',
    answers: [{ status: 200, description: 'the model', schema: modelDetailAnswerSchema }],
    errors: { 404: 'not_found', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, models, {
    method: 'get',
    path: '/models/:name/versions',
    summary: 'A model’s registered versions',
    access: 'admin',
    answers: [{ status: 200, description: 'the versions', schema: versionListAnswerSchema }],
    errors: { 404: 'not_found', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, models, {
    method: 'get',
    path: '/models/:name/versions/:version',
    summary: 'One version and its lineage: trial, workflow run, dataset',
    access: 'admin',
    params: versionParams,
    answers: [{ status: 200, description: 'the version', schema: versionDetailAnswerSchema }],
    errors: { 400: 'invalid_request: the version is not a positive integer', 404: 'not_found', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, models, {
    method: 'get',
    path: '/models/:name/versions/:version/reference-profile',
    summary: 'What a version learned from: the drift monitor’s reference, as stored',
    access: 'admin',
    params: versionParams,
    answers: [{ status: 200, description: 'the reference profile', schema: referenceProfileSchema }],
    errors: {
      400: 'invalid_request: the version is not a positive integer',
      404: 'not_found: the version or its profile',
      503: `${STORE_UNAVAILABLE}, or the object store`,
    },
  });
  describeRoute(registry, models, {
    method: 'get',
    path: '/models/:name/trials',
    summary: 'A model’s training trials, of one run if asked',
    access: 'admin',
    query: trialsQuery,
    answers: [{ status: 200, description: 'the trials', schema: trialListAnswerSchema }],
    errors: { 400: 'invalid_request: the query', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, models, {
    method: 'get',
    path: '/models/:name/retrain-requests',
    summary: 'Every retrain ask of a model and what came of it',
    access: 'admin',
    answers: [{ status: 200, description: 'the asks', schema: retrainRequestListAnswerSchema }],
    errors: { 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, models, {
    method: 'get',
    path: '/trials/:id',
    summary: 'One trial, its workflow run, and the version it became (if any)',
    access: 'admin',
    answers: [{ status: 200, description: 'the trial', schema: trialDetailAnswerSchema }],
    errors: { 404: 'not_found', 503: STORE_UNAVAILABLE },
  });

  const measurements = 'measurements';
  describeRoute(registry, measurements, {
    method: 'get',
    path: '/deployments/:id/stats',
    summary: 'Counts and ranges of a deployment’s frames',
    access: 'admin',
    query: range,
    answers: [{ status: 200, description: 'the statistics', schema: deploymentStatsAnswerSchema }],
    errors: { 400: 'invalid_request: the query', 404: 'not_found', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, measurements, {
    method: 'get',
    path: '/deployments/:id/histogram',
    summary: 'Histogram of one field of a deployment’s frames',
    access: 'admin',
    query: histogramQuery,
    answers: [{ status: 200, description: 'the bins', schema: histogramAnswerSchema }],
    errors: { 400: 'invalid_request: the query', 404: 'not_found', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, measurements, {
    method: 'get',
    path: '/deployments/:id/means',
    summary: 'Means of one field of a deployment’s frames per time window',
    access: 'admin',
    query: meansQuery,
    answers: [{ status: 200, description: 'the windows', schema: meansAnswerSchema }],
    errors: { 400: 'invalid_request: the query', 404: 'not_found', 503: STORE_UNAVAILABLE },
  });
}
