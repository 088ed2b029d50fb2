import { Router } from 'express';
import { z } from 'zod';
import { listParkingRuns, parkingSummary } from '../../control/parkingRuns.js';
import type { RegistryStore } from '../../core/stores/registry.js';
import { validate } from '../errors.js';
import { timeParam } from './params.js';

const isoOf = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

const runsQuery = z.object({
  deployment: z.string().min(1).max(64).optional(),
  client: z.string().min(1).max(64).optional(),
  since: timeParam.optional().meta({ description: 'only runs received at or after this' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const summaryQuery = z.object({ since: timeParam.optional().meta({ description: 'only runs received at or after this' }) });

export { runsQuery, summaryQuery };

/** The rovers' parking runs: listed, and a deployment's success by steering mode and model version (admin token; a viewer reads). */
export function parkingRunReadRoutes(deps: { registry: RegistryStore }): Router {
  const router = Router();
  router.get('/parking-runs', async (req, res) => {
    const { since, ...filter } = validate(runsQuery, req.query, 'query');
    res.json({ runs: await listParkingRuns(deps.registry, { ...filter, since: isoOf(since) }) });
  });
  router.get('/deployments/:id/parking', async (req, res) => {
    const { since } = validate(summaryQuery, req.query, 'query');
    res.json(await parkingSummary(deps.registry, req.params.id, isoOf(since)));
  });
  return router;
}
