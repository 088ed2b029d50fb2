import { patched, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { MonitorActivities } from '../../activities/index.js';
import type { CheckDriftInput, CheckDriftResult, DeploymentCheck, DeploymentSensors } from './contract.js';
import { checksLine } from './summary.js';

const { monitoredDeployments } = proxyActivities<MonitorActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

/** Reads up to a window of frames (38,400 by default) and runs the tests: seconds, retried while a store is down. */
const { checkDeploymentDrift } = proxyActivities<MonitorActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumAttempts: 5 },
});

/** Reads the deployment's newest frames of every rover and flags or clears faults in the registry. */
const { checkSensorHealth } = proxyActivities<MonitorActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumAttempts: 5 },
});

const { askForDriftRetrain } = proxyActivities<MonitorActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumAttempts: 5 },
});

/**
 * Checks every deployment of one model: first its rovers' lasers (suspect ones are flagged and left out), then the
 * rest against its serving version's reference; asks for a retrain where it finds drift, never for a sensor fault.
 */
export async function CheckDrift({ modelName }: CheckDriftInput): Promise<CheckDriftResult> {
  const { enabled, deployments } = await monitoredDeployments(modelName);
  const checks: DeploymentCheck[] = [];
  for (const deployment of deployments) {
    let sensors: DeploymentSensors | undefined;
    if (patched('sensor-health')) {
      const { rovers, suspects, changes } = await checkSensorHealth({ modelName, deployment });
      const healthy = rovers.filter((r) => r.status === 'healthy').length;
      sensors = { rovers: rovers.length, healthy, suspects, flagged: changes.flagged, cleared: changes.cleared };
    }
    const check = await checkDeploymentDrift({ modelName, deployment, ...(sensors ? { suspects: sensors.suspects } : {}) });
    const { modelVersion, verdict, kinds, summary, windowFrames } = check;
    const ask = verdict === 'drift' ? await askForDriftRetrain(check) : undefined;
    checks.push({
      deployment,
      modelVersion,
      verdict,
      kinds,
      summary,
      windowFrames,
      ...(ask ? { ask } : {}),
      ...(sensors ? { sensors } : {}),
    });
  }
  // What the Web UI shows of the run: each deployment's verdict and the retrain it asked for.
  setCurrentDetails(checksLine(checks, enabled));
  return { modelName, enabled, checks };
}
