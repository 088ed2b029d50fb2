import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import {
  annotationAnswerSchema,
  annotationListAnswerSchema,
  createdViewerAnswerSchema,
  sessionAnswerSchema,
  viewerListAnswerSchema,
} from '../../contracts/http/access.js';
import { annotationsQuery, newAnnotation, newViewer, viewerParams } from '../routes/access.js';
import { describeRoute } from './routeDoc.js';

const STORE_UNAVAILABLE = 'the registry cannot be reached';

/** api/routes/access.ts */
export function describeAccessRoutes(registry: OpenAPIRegistry): void {
  const access = 'access';
  describeRoute(registry, access, {
    method: 'get',
    path: '/session',
    summary: 'Who the token is: the admin, or a viewer and its name',
    access: 'admin',
    answers: [{ status: 200, description: 'the role of the token', schema: sessionAnswerSchema }],
    errors: { 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, access, {
    method: 'post',
    path: '/viewers',
    summary: 'Create a viewer: a token that reads everything and changes nothing, shown only in this answer',
    access: 'admin-only',
    body: newViewer,
    answers: [{ status: 201, description: 'created', schema: createdViewerAnswerSchema }],
    errors: { 400: 'invalid_request', 409: 'conflict: the name is taken', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, access, {
    method: 'get',
    path: '/viewers',
    summary: 'Every viewer (without tokens)',
    access: 'admin-only',
    answers: [{ status: 200, description: 'the viewers', schema: viewerListAnswerSchema }],
    errors: { 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, access, {
    method: 'delete',
    path: '/viewers/:id',
    summary: 'Remove a viewer (its token stops working at once)',
    access: 'admin-only',
    params: viewerParams,
    answers: [{ status: 204, description: 'removed' }],
    errors: { 400: 'invalid_request: the id', 404: 'not_found', 503: STORE_UNAVAILABLE },
  });

  const annotations = 'annotations';
  describeRoute(registry, annotations, {
    method: 'post',
    path: '/annotations',
    summary: 'Mark a moment on the charts (fleet-wide, or of one deployment)',
    access: 'admin',
    body: newAnnotation,
    answers: [{ status: 201, description: 'kept', schema: annotationAnswerSchema }],
    errors: { 400: 'invalid_request', 404: 'not_found: the deployment', 503: STORE_UNAVAILABLE },
  });
  describeRoute(registry, annotations, {
    method: 'get',
    path: '/annotations',
    summary: 'Annotations newest first; with `deployment`, its own and the fleet-wide ones',
    access: 'admin',
    query: annotationsQuery,
    answers: [{ status: 200, description: 'the annotations', schema: annotationListAnswerSchema }],
    errors: { 400: 'invalid_request: the query', 503: STORE_UNAVAILABLE },
  });
}
