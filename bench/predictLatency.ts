/**
 * /predict under 1, 8 and 32 simulated rovers, analysis on (the API stores the frame and
 * its record after every answer): client-side latency percentiles and throughput, and how
 * long the analysis takes to store the backlog after the last answer.
 */
import type { EdgeFrame } from '../edge/parkingRun.js';
import { waitForRecords, type ApiCall } from '../scripts/apiClient.js';
import { duration, fixed, markdownTable } from './markdownTable.js';
import { percentile, replayFrames } from './roverReplay.js';
import type { BenchSettings } from './settings.js';
import { createRovers } from './trainAndRegisterRun.js';

export interface PredictLevel {
  rovers: number;
  requests: number;
  answered: number;
  errors: Record<string, number>;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  throughput: number;
  drainSeconds: number;
}

export async function benchmarkPredict(
  admin: ApiCall,
  apiUrl: string,
  modelName: string,
  frames: EdgeFrame[],
  settings: BenchSettings,
  log: (line: string) => void,
): Promise<PredictLevel[]> {
  const deployment = `${modelName}-serve`;
  await admin('POST', '/deployments', { id: deployment, modelName, modelVersion: 'latest' });
  const rovers = await createRovers(admin, `${modelName}-rover`, Math.max(...settings.rovers), deployment);

  // Loads the model and warms the backend; not counted.
  const warmUp = await replayFrames({ apiUrl, rovers: rovers.slice(0, 1), frames, requests: 10 });
  if (warmUp.answered !== 10) throw new Error(`warm-up /predict failed: ${JSON.stringify(warmUp.errors)}`);
  let stored = (await waitForRecords(admin, deployment, 10)).count;

  const levels: PredictLevel[] = [];
  for (const n of settings.rovers) {
    const requests = Math.max(settings.predictRequests, n * 10);
    log(`predict: ${n} rover(s), ${requests} requests`);
    const outcome = await replayFrames({ apiUrl, rovers: rovers.slice(0, n), frames, requests });
    const drained = await waitForRecords(admin, deployment, stored + requests);
    stored = drained.count;
    const l = outcome.latenciesMs;
    levels.push({
      rovers: n,
      requests,
      answered: outcome.answered,
      errors: outcome.errors,
      p50: percentile(l, 50),
      p95: percentile(l, 95),
      p99: percentile(l, 99),
      max: Math.max(...l),
      throughput: outcome.answered / outcome.wallSeconds,
      drainSeconds: drained.seconds,
    });
  }
  return levels;
}

export function predictTable(levels: PredictLevel[]): string {
  return markdownTable(
    ['rovers', 'requests', 'answered 200', 'errors', 'p50', 'p95', 'p99', 'max', 'throughput', 'analysis stored the last record'],
    levels.map((l) => [
      String(l.rovers),
      String(l.requests),
      String(l.answered),
      Object.keys(l.errors).length ? JSON.stringify(l.errors) : '0',
      `${fixed(l.p50)} ms`,
      `${fixed(l.p95)} ms`,
      `${fixed(l.p99)} ms`,
      `${fixed(l.max)} ms`,
      `${fixed(l.throughput)} req/s`,
      `${duration(l.drainSeconds)} after the last answer`,
    ]),
  );
}
