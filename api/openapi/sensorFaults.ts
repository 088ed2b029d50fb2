import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { deploymentSensorsAnswerSchema, sensorFaultAnswerSchema, sensorFaultListAnswerSchema } from '../../contracts/http/sensors.js';
import { clearing, faultParams, faultsQuery } from '../routes/sensorFaults.js';
import { describeRoute } from './routeDoc.js';

/** api/routes/sensorFaults.ts */
export function describeSensorFaultRoutes(registry: OpenAPIRegistry): void {
  const tag = 'sensor faults';
  describeRoute(registry, tag, {
    method: 'get',
    path: '/sensor-faults',
    summary: 'Suspect lasers the drift monitor flagged, newest first: their frames leave training sets, drift and rollout evidence',
    access: 'admin',
    query: faultsQuery,
    answers: [{ status: 200, description: 'the faults', schema: sensorFaultListAnswerSchema }],
    errors: { 400: 'invalid_request: the query', 503: 'the registry cannot be reached' },
  });
  describeRoute(registry, tag, {
    method: 'post',
    path: '/sensor-faults/:id/clear',
    summary: 'Clear a suspect laser by hand: its frames from now on count again (those of the fault stay out)',
    access: 'admin',
    params: faultParams,
    body: clearing,
    answers: [{ status: 200, description: 'cleared', schema: sensorFaultAnswerSchema }],
    errors: {
      400: 'invalid_request: the id or the body (a reason is required)',
      404: 'not_found: the fault',
      409: 'already_cleared: the fault was cleared before (by whom and why stay as they were)',
      503: 'the registry cannot be reached',
    },
  });
  describeRoute(registry, tag, {
    method: 'get',
    path: '/deployments/:id/sensors',
    summary: 'A deployment’s rovers and their lasers: suspect with an open fault, else healthy',
    access: 'admin',
    answers: [{ status: 200, description: 'the rovers', schema: deploymentSensorsAnswerSchema }],
    errors: { 404: 'not_found: the deployment', 503: 'the registry cannot be reached' },
  });
}
