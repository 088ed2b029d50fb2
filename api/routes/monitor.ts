import { Router } from 'express';
import { z } from 'zod';
import { monitorConfigSchema } from '../../core/drift/monitorConfig.js';
import type { MeasurementStore } from '../../core/stores/measurements.js';
import { ApiError, notFound, validate } from '../errors.js';
import { describeMonitorSchedule, syncMonitorSchedule, triggerMonitorCheck, type MonitorScheduleDeps } from '../monitorSchedules.js';

export interface MonitorRouteDeps extends MonitorScheduleDeps {
  measurements: MeasurementStore;
}

const checksQuery = z.object({
  since: z.coerce.number().int().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(20),
});

export { checksQuery };

/** The drift monitor of each model: its config, its schedule, checks on demand, and each deployment's checks (admin token). */
export function monitorRoutes(deps: MonitorRouteDeps): Router {
  const { registry, measurements } = deps;
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
    });
  });

  router.put('/models/:name/monitor', async (req, res) => {
    const model = await modelOrNotFound(req.params.name);
    const config = validate(monitorConfigSchema, req.body, 'monitor config');
    await registry.setMonitorConfig(model.name, config);
    res.json({ modelName: model.name, config, defaults: false, schedule: await syncMonitorSchedule(deps, model.name) });
  });

  router.post('/models/:name/monitor/check', async (req, res) => {
    const model = await modelOrNotFound(req.params.name);
    const schedule = await syncMonitorSchedule(deps, model.name);
    if (schedule.state === 'absent')
      throw new ApiError(409, 'monitor_not_scheduled', `model "${model.name}" has no drift monitor: ${schedule.reason}`);
    if (!(await triggerMonitorCheck(deps, model.name)))
      throw new ApiError(409, 'monitor_not_scheduled', `model "${model.name}" has no drift monitor schedule`);
    res.status(202).json({ modelName: model.name, scheduleId: schedule.scheduleId, triggered: true });
  });

  router.get('/deployments/:id/drift', async (req, res) => {
    const query = validate(checksQuery, req.query, 'query');
    if (!(await registry.getDeployment(req.params.id))) throw notFound(`deployment "${req.params.id}"`);
    res.json({ deployment: req.params.id, checks: await measurements.driftChecks(req.params.id, query) });
  });

  return router;
}
