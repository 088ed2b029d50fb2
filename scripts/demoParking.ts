/**
 * Parking success in the demo: each rover drives parking runs with the real agent (edge/agent/) on a simulated rover
 * (the renderer as its camera, the real VL53L0X driver on the simulated register map, the simulated drive), at the
 * camera's real 4 frames/s, steered by its model (the laser backing it up) or by the laser alone. Every run's report
 * goes to the API (POST /parking-runs) as on a real rover; the tally is read back from the API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { SteeringMode } from '../core/parking/parkingOutcome.js';
import { forwardThrough, RoverAgent } from '../edge/agent/agent.js';
import { Outbox } from '../edge/agent/outbox.js';
import { SimulatedRover } from '../edge/agent/simulatedRover.js';
import { RoverClient } from '../edge/roverClient.js';

export interface ParkingTally {
  mode: SteeringMode;
  runs: number;
  parked: number;
  hit: number;
  early: number;
  /** Model-steered runs by who stopped them: the model in the stop zone, the model early, the laser (the camera drove on). */
  parkedByModel: number;
  earlyByModel: number;
  laserStops: number;
  /** Median true distance to the wall where the runs ended, mm. */
  medianFinalMm: number;
  /** The versions that answered the model-steered runs (most of each run's frames). */
  versions: number[];
}

export interface ParkingTrial {
  apiUrl: string;
  rovers: { clientId: string; token: string }[];
  preset: string;
  mode: SteeringMode;
  runs: number;
  seed: number;
}

/** Drives `runs` parking runs shared among the rovers (each its own agent, at the same time) and tallies the outcomes. */
export async function parkingTrial(trial: ParkingTrial): Promise<ParkingTally> {
  const log = pino({ level: 'silent' });
  const dir = await mkdtemp(path.join(tmpdir(), 'demo-parking-'));
  try {
    const share = (i: number) => Math.floor(trial.runs / trial.rovers.length) + (i < trial.runs % trial.rovers.length ? 1 : 0);
    const reports = await Promise.all(
      trial.rovers.map(async ({ clientId, token }, i) => {
        if (share(i) === 0) return [];
        const client = new RoverClient({ apiUrl: trial.apiUrl, clientId, token, retries: 0, retryAfterBudgetMs: 2000 });
        const rover = new SimulatedRover({ preset: trial.preset, seed: trial.seed * 31 + i });
        const outbox = await Outbox.open({ dir: path.join(dir, clientId), maxBytes: 64 * 1024 * 1024, send: forwardThrough(client) });
        const agent = new RoverAgent({
          clientId,
          camera: rover.camera,
          laser: rover.laser,
          drive: rover.drive,
          client,
          outbox,
          mode: trial.mode,
          log,
          secondsPerFrame: rover.secondsPerFrame,
          simulated: rover.simulated,
        });
        const runs = await agent.drive(share(i));
        const unsent = runs.filter((run) => run.reported !== 'api');
        if (unsent.length) throw new Error(`${clientId}: ${unsent.length} parking reports did not reach the API`);
        return runs.map((run) => run.report);
      }),
    );
    const all = reports.flat();
    const count = (outcome: string) => all.filter((r) => r.outcome === outcome).length;
    const versions = [...new Set(all.flatMap((r) => (r.mode === 'model' && r.modelVersion !== null ? [r.modelVersion] : [])))].sort();
    const byModel = all.filter((r) => r.mode === 'model');
    return {
      mode: trial.mode,
      runs: all.length,
      parked: count('parked'),
      hit: count('hit'),
      early: count('early'),
      parkedByModel: byModel.filter((r) => r.stopReason === 'model' && r.outcome === 'parked').length,
      earlyByModel: byModel.filter((r) => r.stopReason === 'model' && r.outcome === 'early').length,
      laserStops: byModel.filter((r) => r.stopReason === 'laser').length,
      medianFinalMm: median(all.map((r) => r.finalTrueMm ?? r.finalLaserMm ?? 0)),
      versions,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * "6/8 parked (2 early, 0 hit, ...)" for the laser; for the model, who stopped each run: "3/8 parked by the model (1
 * stopped early by it, 4 by the laser, 0 hit, ...)" (a run the laser stopped is one the camera would have driven on).
 */
export function tallyCell(t: ParkingTally | null): string {
  if (t === null) return '-';
  const final = `, median final ${t.medianFinalMm.toFixed(1)} mm`;
  if (t.mode === 'laser') return `${t.parked}/${t.runs} parked (${t.early} early, ${t.hit} hit${final})`;
  return `${t.parkedByModel}/${t.runs} parked by the model (${t.earlyByModel} stopped early by it, ${t.laserStops} by the laser, ${t.hit} hit${final})`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
