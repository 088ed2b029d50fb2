import { Router } from 'express';
import { z } from 'zod';
import type { RegistryStore, Viewer } from '../../core/stores/registry.js';
import type { AdminAccess } from '../access.js';
import { hashToken, newClientToken } from '../auth.js';
import { notFound, validate } from '../errors.js';
import { id } from './admin.js';
import { timeParam } from './params.js';

/** The latest instant an ISO 8601 string of four-digit years can say (stored times compare as strings). */
const LAST_ISO_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const isoOfParam = timeParam
  .refine((ms) => ms >= 0 && ms <= LAST_ISO_MS, 'a time between 1970 and the year 9999')
  .transform((ms) => new Date(ms).toISOString());

const newViewer = z.object({ name: z.string().trim().min(1).max(128) }).strict();
const viewerParams = z.object({ id: z.coerce.number().int().positive() });
const newAnnotation = z
  .object({
    text: z.string().trim().min(1).max(500),
    tags: z.array(z.string().trim().min(1).max(64)).max(10).default([]),
    /** Left out or null: fleet-wide. */
    deployment: id.nullable().default(null),
    /** Left out: now. */
    time: z.iso.datetime({ offset: true }).optional(),
    by: z.string().trim().min(1).max(256).default('admin'),
  })
  .strict();
const annotationsQuery = z
  .object({
    deployment: id.optional(),
    since: isoOfParam.optional(),
    until: isoOfParam.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

/** The request schemas, for the API description (api/openapi/). */
export { newViewer, viewerParams, newAnnotation, annotationsQuery };

/** Who created a viewer: the admin token names no one. */
const ADMIN = 'admin';

const visible = ({ tokenHash: _hidden, ...viewer }: Viewer) => viewer;

/** Who the caller is, the viewer tokens (admin only) and the annotations (written by the admin, read by anyone with a token). */
export function accessRoutes({ registry, access }: { registry: RegistryStore; access: AdminAccess }): Router {
  const router = Router();

  router.get('/session', async (req, res) => {
    res.json(await access.callerOf(req));
  });

  router.post('/viewers', access.adminOnly, async (req, res) => {
    const body = validate(newViewer, req.body);
    const token = newClientToken();
    const viewer = await registry.createViewer({ name: body.name, tokenHash: hashToken(token), createdBy: ADMIN });
    res.status(201).json({ viewer: visible(viewer), token });
  });
  router.get('/viewers', access.adminOnly, async (_req, res) => {
    res.json({ viewers: (await registry.listViewers()).map(visible) });
  });
  router.delete('/viewers/:id', access.adminOnly, async (req, res) => {
    const params = validate(viewerParams, req.params, 'path');
    if (!(await registry.deleteViewer(params.id))) throw notFound(`viewer ${params.id}`);
    res.status(204).end();
  });

  router.post('/annotations', access.adminOrReader, async (req, res) => {
    const body = validate(newAnnotation, req.body);
    if (body.deployment && !(await registry.getDeployment(body.deployment))) throw notFound(`deployment "${body.deployment}"`);
    const time = body.time === undefined ? new Date() : new Date(body.time);
    const annotation = await registry.addAnnotation({ ...body, time: time.toISOString() });
    res.status(201).json({ annotation });
  });
  router.get('/annotations', access.adminOrReader, async (req, res) => {
    const query = validate(annotationsQuery, req.query, 'query');
    res.json({ annotations: await registry.listAnnotations(query) });
  });

  return router;
}
