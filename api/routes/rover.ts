import { Router } from 'express';
import { parkingRunReportSchema } from '../../contracts/http/parking.js';
import { clientSelf } from '../../control/clientSelf.js';
import { recordParkingRun, runOnTheWire } from '../../control/parkingRuns.js';
import type { RegisteredClient, RegistryStore } from '../../core/stores/registry.js';
import type { RegistryLookups } from '../../serving/registryLookups.js';
import { validate } from '../errors.js';
import { roverOnly } from '../roverAuth.js';

export interface RoverRouteDeps {
  lookups: Pick<RegistryLookups, 'client' | 'clientByTokenHash'>;
  registry: Pick<RegistryStore, 'getDeployment' | 'getModelVersion' | 'getLatestModelVersion' | 'recordParkingRun'>;
  /** As the model server's: how long into a canary stage its rovers get the candidate. */
  candidateOpensAfterMs?: number;
  /** Told of each run stored (the API's metrics). */
  metrics?: { parkingRunRecorded(run: { deployment: string | null; mode: string; outcome: string }): void };
}

/** What a rover asks with its own token beside /predict: who it is, and how its parking runs ended. */
export function roverRoutes(deps: RoverRouteDeps): Router {
  const router = Router();
  const rover = roverOnly(deps.lookups);
  router.get('/clients/me', rover, async (_req, res) => {
    res.json(await clientSelf(deps.registry, res.locals.client as RegisteredClient, deps.candidateOpensAfterMs));
  });
  router.post('/parking-runs', rover, async (req, res) => {
    const report = validate(parkingRunReportSchema, req.body ?? {}, 'parking run');
    const { run, replayed } = await recordParkingRun(deps.registry, res.locals.client as RegisteredClient, report);
    if (!replayed) deps.metrics?.parkingRunRecorded(run);
    res.status(replayed ? 200 : 201).json({ run: runOnTheWire(run), replayed });
  });
  return router;
}
