import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { clientSelfAnswerSchema } from '../../contracts/http/clients.js';
import {
  parkingRunAnswerSchema,
  parkingRunListAnswerSchema,
  parkingRunReportSchema,
  parkingSummaryAnswerSchema,
} from '../../contracts/http/parking.js';
import { runsQuery, summaryQuery } from '../routes/parkingRuns.js';
import { describeRoute } from './routeDoc.js';

/** api/routes/rover.ts and api/routes/parkingRuns.ts */
export function describeRoverRoutes(registry: OpenAPIRegistry): void {
  const tag = 'rovers';
  describeRoute(registry, tag, {
    method: 'get',
    path: '/clients/me',
    summary: 'Who the rover is, and which deployment and version it belongs to (its own token)',
    access: 'client',
    answers: [{ status: 200, description: 'the rover and its deployment', schema: clientSelfAnswerSchema }],
    errors: { 503: 'the registry cannot be reached' },
  });
  describeRoute(registry, tag, {
    method: 'post',
    path: '/parking-runs',
    summary: 'Report a parking run (its own token): stored once per rover and run id, under the rover’s deployment',
    access: 'client',
    body: parkingRunReportSchema,
    answers: [
      { status: 201, description: 'stored', schema: parkingRunAnswerSchema },
      { status: 200, description: 'reported before: the stored run (replayed: true)', schema: parkingRunAnswerSchema },
    ],
    errors: {
      400: 'invalid_request: the report',
      422: 'invalid_run: it ends before it starts, or steered more frames than it had',
      503: 'the registry cannot be reached',
    },
  });
  describeRoute(registry, tag, {
    method: 'get',
    path: '/parking-runs',
    summary: 'Parking runs the rovers reported, newest received first',
    access: 'admin',
    query: runsQuery,
    answers: [{ status: 200, description: 'the runs', schema: parkingRunListAnswerSchema }],
    errors: { 400: 'invalid_request: the query', 503: 'the registry cannot be reached' },
  });
  describeRoute(registry, tag, {
    method: 'get',
    path: '/deployments/:id/parking',
    summary: 'A deployment’s parking success by steering mode and model version (the laser alone is the baseline)',
    access: 'admin',
    query: summaryQuery,
    answers: [{ status: 200, description: 'the success per group', schema: parkingSummaryAnswerSchema }],
    errors: { 400: 'invalid_request: the query', 404: 'not_found: the deployment', 503: 'the registry cannot be reached' },
  });
}
