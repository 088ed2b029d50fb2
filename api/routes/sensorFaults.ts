import { Router } from 'express';
import { z } from 'zod';
import { clearSensorFault, deploymentSensors, listSensorFaults } from '../../control/sensorFaults.js';
import type { RegistryStore } from '../../core/stores/registry.js';
import { validate } from '../errors.js';

const faultsQuery = z.object({
  client: z.string().min(1).max(64).optional(),
  deployment: z.string().min(1).max(64).optional(),
  open: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .meta({ description: 'true: open faults only; false: cleared ones only' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const faultParams = z.object({ id: z.coerce.number().int().min(1) });
const clearing = z
  .object({
    by: z.string().trim().min(1).max(256).default('admin'),
    reason: z.string().trim().min(1).max(1024).meta({ description: 'why the laser can be trusted again (cleaned, realigned, replaced)' }),
  })
  .strict();

export { faultsQuery, faultParams, clearing };

/** Suspect lasers: list them, clear one by hand, and a deployment's rovers' health (admin token; a viewer reads). */
export function sensorFaultRoutes(deps: { registry: RegistryStore }): Router {
  const router = Router();
  router.get('/sensor-faults', async (req, res) => {
    res.json({ faults: await listSensorFaults(deps.registry, validate(faultsQuery, req.query, 'query')) });
  });
  router.post('/sensor-faults/:id/clear', async (req, res) => {
    const { id } = validate(faultParams, req.params, 'path');
    res.json({ fault: await clearSensorFault(deps.registry, id, validate(clearing, req.body ?? {}, 'clearing')) });
  });
  router.get('/deployments/:id/sensors', async (req, res) => {
    res.json(await deploymentSensors(deps.registry, req.params.id));
  });
  return router;
}
