import { checkDriftOfSummary } from '../core/drift/driftCheck.js';
import type { DriftCheckRecord, SuspectRover } from '../core/drift/driftReport.js';
import { monitorConfigSchema } from '../core/drift/monitorConfig.js';
import { ProfileCache } from '../core/drift/profileCache.js';
import { summaryWindow } from '../core/drift/summaryWindow.js';
import { resolveServedVersion, type ModelVersion } from '../core/stores/registry.js';
import type { ActivityContext } from './context.js';

export interface CheckDeploymentDriftInput {
  modelName: string;
  deployment: string;
  /** From the sensor check before it: their frames are left out, and with no drift on the rest the verdict is `sensor-fault`. */
  suspects?: SuspectRover[];
}

/**
 * One drift check of one deployment: its frames of the version it serves, from the last window (the per-minute
 * summaries the API keeps, core/drift/summaryWindow.ts), against that version's reference profile. Writes the result to the measurement store (the `drift_check` series) and
 * returns it. A store that fails makes the activity fail (and Temporal retry it), never report drift.
 */
export const checkDeploymentDrift = ({ stores }: ActivityContext) => {
  const profiles = new ProfileCache(stores.objects);
  return async ({ modelName, deployment: deploymentId, suspects }: CheckDeploymentDriftInput): Promise<DriftCheckRecord> => {
    const { registry, measurements } = stores;
    const time = Date.now();
    const config = monitorConfigSchema.parse((await registry.getModel(modelName))?.monitorConfig ?? {});
    const base = { time, deployment: deploymentId, modelName };
    const noReference = (summary: string, modelVersion: number | null): DriftCheckRecord => ({
      ...base,
      modelVersion,
      verdict: 'no-reference',
      kinds: [],
      summary,
      windowFrames: 0,
      windowStart: null,
      windowEnd: null,
      covariate: null,
      label: null,
      performance: null,
    });
    let record: DriftCheckRecord;
    const version = await servingVersion(registry, modelName, deploymentId);
    if (typeof version === 'string') {
      record = noReference(version, null);
    } else if (!version.referenceProfile) {
      record = noReference(`v${version.version} has no reference profile (registered before profiles were kept)`, version.version);
    } else {
      const profile = await profiles.get(version.referenceProfile);
      const window = await summaryWindow(measurements, profile, {
        deployment: deploymentId,
        modelName,
        modelVersion: version.version,
        since: time - config.windowMinutes * 60_000,
        maxFrames: config.windowMaxFrames,
        excludeClients: suspects?.map((s) => s.client),
      });
      record = { ...base, modelVersion: version.version, ...checkDriftOfSummary(profile, window, config) };
    }
    if (suspects) record = withSuspects(record, suspects);
    await measurements.writeDriftCheck(record);
    return record;
  };
};

/** A check with the sensor check's suspects: `sensor-fault` when they are the only news, their summary first. */
function withSuspects(record: DriftCheckRecord, suspects: SuspectRover[]): DriftCheckRecord {
  if (suspects.length === 0) return { ...record, sensors: { suspects } };
  const quiet = record.verdict === 'no-drift' || record.verdict === 'insufficient-data' || record.verdict === 'harmless-drift';
  const which = suspects.map((s) => `${s.client} (${s.kinds.join(', ')})`).join(', ');
  return {
    ...record,
    verdict: quiet ? 'sensor-fault' : record.verdict,
    summary: `SENSOR FAULT: ${which} left out; ${record.summary}`,
    sensors: { suspects },
  };
}

/** The version a deployment serves, or why it serves none. */
async function servingVersion(
  registry: ActivityContext['stores']['registry'],
  modelName: string,
  deploymentId: string,
): Promise<ModelVersion | string> {
  const deployment = await registry.getDeployment(deploymentId);
  if (!deployment) return `deployment "${deploymentId}" no longer exists`;
  if (deployment.modelName !== modelName) return `deployment "${deploymentId}" now serves model "${deployment.modelName}"`;
  // During a rollout every rover outside the canary is answered by the current version: that is what is watched.
  const { version } = await resolveServedVersion(registry, deployment);
  return version ?? `deployment "${deploymentId}" serves no version of "${modelName}" yet`;
}
