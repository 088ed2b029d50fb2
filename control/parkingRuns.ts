import type { ParkingRunReport } from '../contracts/http/parking.js';
import type { ParkingRun, ParkingSuccess, RegisteredClient, RegistryStore } from '../core/stores/registry.js';
import { ControlError, notFound } from './errors.js';

/**
 * Parking runs, the metric the rovers are for: each rover reports its runs (stored once per rover and run id), and a
 * deployment's success is read by steering mode and model version. No transport here: the routes call these.
 */

/** Stores a rover's report of a run under its current deployment; a repeat of the run id is the stored run, `replayed`. */
export async function recordParkingRun(
  registry: Pick<RegistryStore, 'recordParkingRun'>,
  client: RegisteredClient,
  report: ParkingRunReport,
): Promise<{ run: ParkingRun; replayed: boolean }> {
  if (Date.parse(report.endedAt) < Date.parse(report.startedAt))
    throw new ControlError(
      'unprocessable',
      'invalid_run',
      `run "${report.runId}" ends (${report.endedAt}) before it starts (${report.startedAt})`,
    );
  const steered = report.steered.model + report.steered.laser + report.steered.stopped;
  if (steered > report.frames)
    throw new ControlError('unprocessable', 'invalid_run', `run "${report.runId}" steered ${steered} frames of ${report.frames}`);
  const { run, created } = await registry.recordParkingRun({
    runId: report.runId,
    client: client.id,
    deployment: client.deploymentId,
    mode: report.mode,
    startedAt: new Date(report.startedAt).toISOString(),
    endedAt: new Date(report.endedAt).toISOString(),
    frames: report.frames,
    steered: report.steered,
    outcome: report.outcome,
    finalLaserMm: report.finalLaserMm,
    finalTrueMm: report.finalTrueMm ?? null,
    modelVersion: report.modelVersion,
    stopReason: report.stopReason,
    simulated: report.simulated ?? false,
    preset: report.preset ?? null,
  });
  return { run, replayed: !created };
}

/** A run as the API shows it: a run without a preset leaves it out. */
export function runOnTheWire({ preset, ...run }: ParkingRun) {
  return preset === null ? run : { ...run, preset };
}

export interface ParkingRunFilter {
  deployment?: string;
  client?: string;
  since?: string;
  limit?: number;
}

export async function listParkingRuns(registry: Pick<RegistryStore, 'listParkingRuns'>, filter: ParkingRunFilter) {
  return (await registry.listParkingRuns({ ...filter, limit: filter.limit ?? 100 })).map(runOnTheWire);
}

/** A deployment's parking success since a time, by steering mode and model version (the laser alone is the baseline). */
export async function parkingSummary(
  registry: Pick<RegistryStore, 'getDeployment' | 'parkingSuccess'>,
  deploymentId: string,
  since?: string,
): Promise<{ deployment: string; since: string | null; groups: ParkingSuccess[] }> {
  if (!(await registry.getDeployment(deploymentId))) throw notFound(`deployment "${deploymentId}"`);
  return { deployment: deploymentId, since: since ?? null, groups: await registry.parkingSuccess(deploymentId, since) };
}
