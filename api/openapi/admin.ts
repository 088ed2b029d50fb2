import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import {
  clientAnswerSchema,
  clientAssignmentAnswerSchema,
  clientListAnswerSchema,
  createdClientAnswerSchema,
} from '../../contracts/http/clients.js';
import {
  deploymentAnswerSchema,
  deploymentDetailAnswerSchema,
  deploymentListAnswerSchema,
  rollbackAnswerSchema,
  servingHistoryAnswerSchema,
} from '../../contracts/http/deployments.js';
import { modelAnswerSchema } from '../../contracts/http/models.js';
import {
  assignment,
  deploymentPatch,
  historyQuery,
  id,
  newClient,
  newDeployment,
  rollbackBody,
  trainingConfigSchema,
} from '../routes/admin.js';
import { describeRoute } from './routeDoc.js';

const STORE_UNAVAILABLE = 'the registry cannot be reached';

/** api/routes/admin.ts */
export function describeAdminRoutes(registry: OpenAPIRegistry): void {
  const clients = 'clients';
  describeRoute(registry, clients, {
    method: 'post',
    path: '/clients',
    summary: 'Register a rover; its token is shown only in this answer',
    access: 'admin',
    body: newClient,
    answers: [{ status: 201, description: 'registered', schema: createdClientAnswerSchema }],
    errors: { 400: 'invalid_request', 404: 'not_found: the deployment', 409: 'conflict: the id is taken', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, clients, {
    method: 'get',
    path: '/clients',
    summary: 'Every registered rover',
    access: 'admin',
    answers: [{ status: 200, description: 'the clients', schema: clientListAnswerSchema }],
    errors: { 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, clients, {
    method: 'get',
    path: '/clients/:id',
    summary: 'One rover',
    access: 'admin',
    answers: [{ status: 200, description: 'the client', schema: clientAnswerSchema }],
    errors: { 404: 'not_found', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, clients, {
    method: 'put',
    path: '/clients/:id/deployment',
    summary: 'Assign a rover to a deployment (null: to none)',
    access: 'admin',
    body: assignment,
    answers: [{ status: 200, description: 'assigned', schema: clientAssignmentAnswerSchema }],
    errors: { 400: 'invalid_request', 404: 'not_found: the client or the deployment', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, clients, {
    method: 'delete',
    path: '/clients/:id',
    summary: 'Remove a rover (its token stops working)',
    access: 'admin',
    answers: [{ status: 204, description: 'removed' }],
    errors: { 404: 'not_found', 503: STORE_UNAVAILABLE },
  });

  const deployments = 'deployments';
  describeRoute(registry, deployments, {
    method: 'post',
    path: '/deployments',
    summary: 'Create a deployment: a model (a pinned version or latest) and how new versions roll out',
    access: 'admin',
    body: newDeployment,
    answers: [{ status: 201, description: 'created', schema: deploymentAnswerSchema }],
    errors: {
      400: 'invalid_request',
      409: 'conflict: the id is taken; unknown_version: the model has no such version',
      503: `${STORE_UNAVAILABLE}, or Temporal (the drift monitor's schedule)`,
    },
  });
  describeRoute(registry, deployments, {
    method: 'get',
    path: '/deployments',
    summary: 'Every deployment',
    access: 'admin',
    answers: [{ status: 200, description: 'the deployments', schema: deploymentListAnswerSchema }],
    errors: { 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, deployments, {
    method: 'get',
    path: '/deployments/:id',
    summary: 'One deployment, its rovers and its rollout policy',
    access: 'admin',
    answers: [{ status: 200, description: 'the deployment', schema: deploymentDetailAnswerSchema }],
    errors: { 404: 'not_found', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, deployments, {
    method: 'patch',
    path: '/deployments/:id',
    summary: 'Change a deployment’s model, version, strategy or rollout policy (only the fields given)',
    access: 'admin',
    body: deploymentPatch,
    answers: [{ status: 200, description: 'changed', schema: deploymentAnswerSchema }],
    errors: {
      400: 'invalid_request',
      404: 'not_found',
      409: 'unknown_version: the model has no such version',
      503: `${STORE_UNAVAILABLE}, or Temporal (the drift monitor's schedule)`,
    },
  });
  describeRoute(registry, deployments, {
    method: 'get',
    path: '/deployments/:id/serving-history',
    summary: 'Every change of the version a deployment serves, newest first',
    access: 'admin',
    query: historyQuery,
    answers: [{ status: 200, description: 'the history', schema: servingHistoryAnswerSchema }],
    errors: { 400: 'invalid_request: the query', 404: 'not_found', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, deployments, {
    method: 'post',
    path: '/deployments/:id/rollback',
    summary: 'Serve the version served before the current one again',
    access: 'admin',
    body: rollbackBody,
    answers: [{ status: 200, description: 'rolled back', schema: rollbackAnswerSchema }],
    errors: { 400: 'invalid_request', 404: 'not_found', 409: 'no_previous_version', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, deployments, {
    method: 'delete',
    path: '/deployments/:id',
    summary: 'Remove a deployment (its rovers are left unassigned)',
    access: 'admin',
    answers: [{ status: 204, description: 'removed' }],
    errors: { 404: 'not_found', 503: STORE_UNAVAILABLE },
  });

  describeRoute(registry, 'models', {
    method: 'put',
    path: '/models/:name/training-config',
    summary: 'Set what a retrain of the model trains on and sweeps (creates the model)',
    access: 'admin',
    params: z.object({ name: id }),
    body: trainingConfigSchema.required({ deployments: true }).meta({ id: 'TrainingConfig' }),
    answers: [{ status: 200, description: 'set', schema: modelAnswerSchema }],
    errors: {
      400: 'invalid_request: the model name or the config',
      422: 'unknown_deployment: a deployment it names does not exist',
      503: `${STORE_UNAVAILABLE}, or Temporal (the drift monitor's schedule)`,
    },
  });
}
