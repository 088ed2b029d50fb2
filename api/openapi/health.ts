import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { livenessAnswerSchema, readinessAnswerSchema } from '../../contracts/http/health.js';
import { describeRoute } from './routeDoc.js';

/** api/routes/health.ts */
export function describeHealthRoutes(registry: OpenAPIRegistry): void {
  const tag = 'health';
  describeRoute(registry, tag, {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the process answers',
    access: 'public',
    answers: [{ status: 200, description: 'alive', schema: livenessAnswerSchema }],
  });
  describeRoute(registry, tag, {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: every store, Temporal and the workers answer',
    description: 'Anyone sees ok/down per check; with the admin token also why, how long each took, and the analysis queue.',
    access: 'public-or-admin',
    answers: [
      { status: 200, description: 'ready', schema: readinessAnswerSchema },
      { status: 503, description: 'not ready: a check is down', schema: readinessAnswerSchema },
    ],
  });
}
