import { Router } from 'express';
import { z } from 'zod';
import { deploymentSeries, fleetPage, frameImage, framesPage, type DeploymentReadDeps } from '../../control/deploymentReads.js';
import { validate } from '../errors.js';
import { timeParam } from './params.js';

const fleetQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  after: z.string().min(1).max(64).optional().meta({ description: 'the last id of the previous page' }),
});
const framesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(5000).default(20),
  before: timeParam.optional().meta({ description: 'only frames older than this (the previous page’s `next`)' }),
});
const HOUR = 3_600_000;
/** The most buckets one series answer holds. */
export const MAX_SERIES_BUCKETS = 2000;
const seriesQuery = z
  .object({
    since: timeParam.optional(),
    until: timeParam.optional(),
    stepMs: z.coerce.number().int().min(1000).default(60_000),
  })
  .transform(({ since, until, stepMs }) => {
    const end = until ?? Date.now();
    return { since: since ?? end - HOUR, until: end, stepMs };
  })
  .refine((w) => w.until > w.since, { message: 'until must be after since', path: ['until'] })
  .refine((w) => Math.ceil((w.until - w.since) / w.stepMs) <= MAX_SERIES_BUCKETS, {
    message: `at most ${MAX_SERIES_BUCKETS} buckets: widen stepMs or narrow since..until`,
    path: ['stepMs'],
  });
const frameParams = z.object({ id: z.string(), frameId: z.string() });

export { fleetQuery, framesQuery, seriesQuery, frameParams };

/** What the console's pages read in one call each: the fleet, a deployment's frames and its series (admin token). */
export function deploymentReadRoutes(deps: DeploymentReadDeps): Router {
  const router = Router();

  router.get('/fleet', async (req, res) => {
    res.json(await fleetPage(deps, validate(fleetQuery, req.query, 'query')));
  });
  router.get('/deployments/:id/frames', async (req, res) => {
    res.json(await framesPage(deps, req.params.id, validate(framesQuery, req.query, 'query')));
  });
  router.get('/deployments/:id/frames/:frameId/image', async (req, res) => {
    const image = await frameImage(deps, req.params.id, req.params.frameId);
    res.type('image/jpeg').set('cache-control', 'private, max-age=3600').send(image);
  });
  router.get('/deployments/:id/series', async (req, res) => {
    res.json(await deploymentSeries(deps, req.params.id, validate(seriesQuery, req.query, 'query')));
  });
  return router;
}
