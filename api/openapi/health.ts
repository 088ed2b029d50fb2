import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { livenessAnswerSchema, readinessAnswerSchema, replicaReadinessAnswerSchema } from '../../contracts/http/health.js';
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
  describeRoute(registry, tag, {
    method: 'get',
    path: '/readyz/replica',
    summary: "A load balancer's check: this replica takes frames",
    description:
      "Ready unless the process is stopping (SIGTERM) or its spool is full. The stores, Temporal and the workers, which every replica shares, are /readyz's checks, not this one: frames wait in the spool while a store is down and need no Temporal.",
    access: 'public',
    answers: [
      { status: 200, description: 'takes frames', schema: replicaReadinessAnswerSchema },
      { status: 503, description: 'stopping, or its spool is full', schema: replicaReadinessAnswerSchema },
    ],
  });
}
