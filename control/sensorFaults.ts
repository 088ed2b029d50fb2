import type { RoverSensorHealth } from '../core/sensors/sensorHealth.js';
import type { RegistryStore, SensorFault } from '../core/stores/registry.js';
import { ControlError, notFound } from './errors.js';

/**
 * Suspect lasers: the sensor health check flags them and clears them once healthy for the stated time; an operator
 * clears them by hand (route and CLI). No transport here: the routes and the monitor's activity call these.
 */

/** Who clears a fault when its rover's readings were healthy for the stated time. */
export const CLEARED_BY_HEALTH = 'sensor-health';

/** The rovers of a deployment whose frames are left out of drift and rollout evidence now: those with an open fault. */
export async function suspectClients(registry: Pick<RegistryStore, 'listSensorFaults'>, deployment: string): Promise<string[]> {
  return [...new Set((await registry.listSensorFaults({ deployment, open: true })).map((f) => f.client))].sort();
}

export interface SensorFaultFilter {
  client?: string;
  deployment?: string;
  open?: boolean;
  limit?: number;
}

export async function listSensorFaults(registry: RegistryStore, filter: SensorFaultFilter): Promise<SensorFault[]> {
  return registry.listSensorFaults({ ...filter, limit: filter.limit ?? 100 });
}

/** Clears an open fault by hand; a fault cleared already is a conflict (who cleared it and why stay as they were). */
export async function clearSensorFault(
  registry: RegistryStore,
  id: number,
  clearing: { by: string; reason: string },
): Promise<SensorFault> {
  const before = await registry.getSensorFault(id);
  if (!before) throw notFound(`sensor fault ${id}`);
  if (before.clearedAt !== null)
    throw new ControlError('conflict', 'already_cleared', `sensor fault ${id} was cleared at ${before.clearedAt} by ${before.clearedBy}`);
  const cleared = await registry.clearSensorFault(id, clearing);
  if (!cleared) throw notFound(`sensor fault ${id}`);
  return cleared;
}

/**
 * A deployment's rovers and their lasers: suspect with an open fault, else healthy (with their newest cleared fault,
 * if any). Rovers that sent frames here and were reassigned since are listed while they have a fault here.
 */
export async function deploymentSensors(registry: RegistryStore, deploymentId: string) {
  if (!(await registry.getDeployment(deploymentId))) throw notFound(`deployment "${deploymentId}"`);
  const [clients, faults] = await Promise.all([
    registry.listClients(),
    registry.listSensorFaults({ deployment: deploymentId, limit: 1000 }),
  ]);
  const newest = new Map<string, SensorFault>();
  for (const fault of faults) {
    const known = newest.get(fault.client);
    // Newest first: an open fault wins over cleared ones.
    if (!known || (known.clearedAt !== null && fault.clearedAt === null)) newest.set(fault.client, fault);
  }
  const ids = [...new Set([...clients.filter((c) => c.deploymentId === deploymentId).map((c) => c.id), ...newest.keys()])].sort();
  return {
    deployment: deploymentId,
    rovers: ids.map((client) => {
      const fault = newest.get(client) ?? null;
      return { client, status: fault && fault.clearedAt === null ? ('suspect' as const) : ('healthy' as const), fault };
    }),
  };
}

/** What one sensor check changed in the registry. */
export interface SensorFaultChanges {
  /** Faults opened by this check. */
  flagged: number[];
  /** Open faults whose evidence this check updated. */
  updated: number[];
  /** Faults this check cleared: their rovers' readings were healthy for the stated time. */
  cleared: number[];
}

/**
 * Applies one health check of a deployment to the registry: a suspect rover is flagged (or its open fault updated);
 * an open fault whose rover is healthy and was last found suspect at least `healthyMinutesToClear` ago is cleared.
 * A rover without enough frames to judge keeps its fault.
 */
export async function applySensorHealth(
  registry: RegistryStore,
  deployment: string,
  rovers: RoverSensorHealth[],
  options: { now: number; healthyMinutesToClear: number },
): Promise<SensorFaultChanges> {
  const changes: SensorFaultChanges = { flagged: [], updated: [], cleared: [] };
  const open = new Map((await registry.listSensorFaults({ deployment, open: true })).map((f) => [f.client, f]));
  for (const rover of rovers) {
    if (rover.status === 'suspect') {
      const { fault, created } = await registry.flagSensorFault({
        client: rover.client,
        deployment,
        kinds: rover.kinds,
        evidence: rover.evidence,
        summary: rover.summary,
        since: new Date(rover.since ?? options.now).toISOString(),
      });
      (created ? changes.flagged : changes.updated).push(fault.id);
      continue;
    }
    const fault = open.get(rover.client);
    if (!fault || rover.status !== 'healthy') continue;
    const healthyForMs = options.now - Date.parse(fault.updatedAt);
    if (healthyForMs < options.healthyMinutesToClear * 60_000) continue;
    const reason = `readings healthy for ${Math.floor(healthyForMs / 60_000)} min (at least ${options.healthyMinutesToClear} min needed)`;
    const cleared = await registry.clearSensorFault(fault.id, { by: CLEARED_BY_HEALTH, reason });
    if (cleared) changes.cleared.push(cleared.id);
  }
  return changes;
}
