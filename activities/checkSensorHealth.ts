import { monitorConfigSchema } from '../core/drift/monitorConfig.js';
import { assessSensorHealth, type RoverSensorHealth } from '../core/sensors/sensorHealth.js';
import { resolveServedVersion } from '../core/stores/registry.js';
import { applySensorHealth, type SensorFaultChanges } from '../control/sensorFaults.js';
import type { SuspectRover } from '../core/drift/driftReport.js';
import type { ActivityContext } from './context.js';

export interface CheckSensorHealthInput {
  modelName: string;
  deployment: string;
}

/** One sensor check of one deployment, as the drift monitor's run carries it. */
export interface SensorHealthCheck {
  deployment: string;
  /** Epoch ms of the check. */
  time: number;
  /** Every rover with frames in the window, judged. */
  rovers: RoverSensorHealth[];
  /** Rovers with an open fault after this check: their frames leave the drift check that follows. */
  suspects: SuspectRover[];
  changes: SensorFaultChanges;
}

/**
 * Judges every rover's laser in the deployment's newest frames (every version, the monitor's window) and records it:
 * suspect rovers are flagged (an open fault updated), faults of rovers healthy for the stated time are cleared.
 */
export const checkSensorHealth =
  ({ stores }: ActivityContext) =>
  async ({ modelName, deployment }: CheckSensorHealthInput): Promise<SensorHealthCheck> => {
    const { registry, measurements } = stores;
    const time = Date.now();
    const config = monitorConfigSchema.parse((await registry.getModel(modelName))?.monitorConfig ?? {});
    const window = await measurements.sensorWindow({
      deployment,
      since: time - config.windowMinutes * 60_000,
      maxFrames: config.windowMaxFrames,
    });
    const rovers = assessSensorHealth(window, config.sensors, {
      referenceErrorMm: await referenceErrorMm(stores.registry, modelName, deployment),
    });
    const changes = await applySensorHealth(registry, deployment, rovers, {
      now: time,
      healthyMinutesToClear: config.sensors.healthyMinutesToClear,
    });
    const open = await registry.listSensorFaults({ deployment, open: true });
    const suspects = open.map((f) => ({ client: f.client, fault: f.id, kinds: f.kinds, since: Date.parse(f.since), summary: f.summary }));
    return { deployment, time, rovers, suspects: suspects.sort((a, b) => a.client.localeCompare(b.client)), changes };
  };

/** The serving version's mean test error (mm): peers agree with the model near it. */
async function referenceErrorMm(
  registry: ActivityContext['stores']['registry'],
  modelName: string,
  deploymentId: string,
): Promise<number | null> {
  const deployment = await registry.getDeployment(deploymentId);
  if (!deployment || deployment.modelName !== modelName) return null;
  const { version } = await resolveServedVersion(registry, deployment);
  const mae = version?.metrics.test_mae_mm;
  return typeof mae === 'number' && Number.isFinite(mae) ? mae : null;
}
