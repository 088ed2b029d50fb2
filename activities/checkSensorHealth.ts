import { monitorConfigSchema } from '../core/drift/monitorConfig.js';
import { assessSensorHealth, type RoverSensorHealth, type SensorWindow } from '../core/sensors/sensorHealth.js';
import { resolveServedVersion, type SensorFault } from '../core/stores/registry.js';
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
    const window = sinceClearing(
      await measurements.sensorWindow({ deployment, since: time - config.windowMinutes * 60_000, maxFrames: config.windowMaxFrames }),
      await registry.listSensorFaults({ deployment, open: false, limit: 1000 }),
    );
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

/**
 * A cleared rover is judged on what it sent after its clearing (the lens cleaned, the sensor realigned): its frames
 * from before are left out of the window (also as the others' peers), so they do not flag it again.
 */
function sinceClearing(window: SensorWindow, cleared: SensorFault[]): SensorWindow {
  const clearedAt = new Map<string, number>();
  for (const fault of cleared) {
    const at = Date.parse(fault.clearedAt!);
    if (at > (clearedAt.get(fault.client) ?? -Infinity)) clearedAt.set(fault.client, at);
  }
  if (clearedAt.size === 0) return window;
  return { ...window, frames: window.frames.filter((f) => f.time >= (clearedAt.get(f.client) ?? -Infinity)) };
}

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
