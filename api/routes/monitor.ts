import { Router } from 'express';
import { z } from 'zod';
import { mergeMonitorConfig, monitorConfigSchema } from '../../core/drift/monitorConfig.js';
import type { MeasurementStore } from '../../core/stores/measurements.js';
import { notFound, validate } from '../errors.js';
import {
  describeMonitorSchedule,
  syncMonitorSchedule,
  requestMonitorCheck,
  type MonitorScheduleDeps,
} from '../../control/monitorSchedules.js';
import { driftChecksWithRetrains } from '../../control/deploymentReads.js';
import { driftRearmStatus } from '../../control/driftRearm.js';
import type { ObjectStore } from '../../core/stores/objects.js';
import { timeParam } from './params.js';
import type { TemporalUi } from '../../control/temporal/links.js';

export interface MonitorRouteDeps extends MonitorScheduleDeps {
  measurements: MeasurementStore;
  /** Runs' dataset records lists: how many frames of a deployment a retrain had (re-arming). */
  objects: ObjectStore;
  /** The Temporal Web UI, for the links of the retrains drift checks started. */
  temporalUi: TemporalUi;
}

const checksQuery = z.object({
  since: timeParam.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(20),
});

export { checksQuery };

/** The drift monitor of each model: its config, its schedule, checks on demand, and each deployment's checks (admin token). */
export function monitorRoutes(deps: MonitorRouteDeps): Router {
  const { registry } = deps;
  const router = Router();
  const modelOrNotFound = async (name: string) => {
    const model = await registry.getModel(name);
    if (!model) throw notFound(`model "${name}" (PUT /models/${name}/training-config creates it)`);
    return model;
  };

  router.get('/models/:name/monitor', async (req, res) => {
    const model = await modelOrNotFound(req.params.name);
    res.json({
      modelName: model.name,
      config: monitorConfigSchema.parse(model.monitorConfig ?? {}),
      defaults: model.monitorConfig === null,
      schedule: await describeMonitorSchedule(deps, model.name),
      rearm: await driftRearmStatus(deps, model.name),
    });
  });

  /** Changes the fields given, over the stored config; the merged config is validated whole. DELETE: the defaults. */
  router.put('/models/:name/monitor', async (req, res) => {
    const model = await modelOrNotFound(req.params.name);
    const config = validate(monitorConfigSchema, mergeMonitorConfig(model.monitorConfig, req.body), 'monitor config');
    await registry.setMonitorConfig(model.name, config);
    const schedule = await syncMonitorSchedule(deps, model.name);
    res.json({ modelName: model.name, config, defaults: false, schedule, rearm: await driftRearmStatus(deps, model.name) });
  });

  router.delete('/models/:name/monitor', async (req, res) => {
    const model = await modelOrNotFound(req.params.name);
    await registry.setMonitorConfig(model.name, null);
    const config = monitorConfigSchema.parse({});
    const schedule = await syncMonitorSchedule(deps, model.name);
    res.json({ modelName: model.name, config, defaults: true, schedule, rearm: await driftRearmStatus(deps, model.name) });
  });

  /** A check now: 202 once Temporal has taken the trigger; 409 when the monitor is off (it would check nothing) or has no schedule. */
  router.post('/models/:name/monitor/check', async (req, res) => {
    const model = await modelOrNotFound(req.params.name);
    const schedule = await requestMonitorCheck(deps, model);
    res.status(202).json({
      modelName: model.name,
      scheduleId: schedule.scheduleId,
      triggered: true,
      note: 'a check of every deployment of the model starts now; GET /deployments/:id/drift lists its results',
    });
  });

  router.get('/deployments/:id/drift', async (req, res) => {
    const query = validate(checksQuery, req.query, 'query');
    res.json({ deployment: req.params.id, checks: await driftChecksWithRetrains(deps, req.params.id, query) });
  });

  return router;
}
