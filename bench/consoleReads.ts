/**
 * What each read of the console's pages costs on the embedded stores with 100,000 frames in one deployment (the
 * issue's bar: each page's data well under 1 s). Writes the frames (the last hour, about 28 a second) and 200
 * drift checks into a temp SQLite measurement store, then times each read as the API makes it (control/): the
 * fleet page, the deployment's series of the last hour, 2,000 frames (the scatter), a histogram, the drift checks.
 * Prints a markdown table of the cold and the median time of each; asserts nothing.
 *
 *   npx tsx bench/consoleReads.ts [frames]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deploymentSeries, driftChecksWithRetrains, fleetPage, framesPage, type DeploymentReadDeps } from '../control/deploymentReads.js';
import type { DriftCheckRecord } from '../core/drift/driftReport.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../core/features/fields.js';
import { createRng } from '../core/random.js';
import { FolderObjects } from '../core/stores/folderObjects.js';
import type { InferenceRecord } from '../core/stores/measurements.js';
import { SqlMeasurements } from '../core/stores/sql/sqlMeasurements.js';
import { SqlRegistry } from '../core/stores/sql/sqlRegistry.js';

const DEPLOYMENT = 'bench-console';
const HOUR = 3_600_000;
const REPETITIONS = 7;

export interface ReadCost {
  read: string;
  coldMs: number;
  medianMs: number;
  /** What the read answered, in a few words (rows, buckets), to show it did the work. */
  answered: string;
}

async function timed(read: string, fn: () => Promise<string>): Promise<ReadCost> {
  const ms: number[] = [];
  let answered = '';
  for (let i = 0; i < REPETITIONS; i++) {
    const start = performance.now();
    answered = await fn();
    ms.push(performance.now() - start);
  }
  const warm = ms.slice(1).sort((a, b) => a - b);
  return { read, coldMs: ms[0], medianMs: warm[Math.floor(warm.length / 2)], answered };
}

export async function benchmarkConsoleReads(frames = 100_000): Promise<{ writeSeconds: number; costs: ReadCost[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-reads-'));
  const registry = await SqlRegistry.open(`sqlite:${path.join(dir, 'registry.db')}`);
  const measurements = await SqlMeasurements.open(`sqlite:${path.join(dir, 'measurements.db')}`);
  const deps: DeploymentReadDeps = {
    registry,
    measurements,
    objects: new FolderObjects(path.join(dir, 'objects')),
    temporalUi: { url: 'http://localhost:8233', namespace: 'default' },
  };
  try {
    await registry.createDeployment({ id: DEPLOYMENT, modelName: 'bench', modelVersion: 'latest', strategy: 'direct' });
    const now = Date.now();
    const rng = createRng(7);
    const writeStart = performance.now();
    for (let i = 0; i < frames; i += 5000) {
      const batch: InferenceRecord[] = [];
      for (let j = i; j < Math.min(frames, i + 5000); j++) {
        const sensor = 50 + rng.next() * 250;
        const prediction = sensor + (rng.next() - 0.5) * 40;
        const characteristics = Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f) => [f, rng.next() * 100])) as ImageCharacteristics;
        batch.push({
          time: now - HOUR + Math.floor((j * HOUR) / frames),
          deployment: DEPLOYMENT,
          client: `rover-${j % 8}`,
          modelName: 'bench',
          modelVersion: 1,
          prediction,
          sensorValue: sensor,
          error: Math.abs(prediction - sensor),
          latencyMs: 5,
          imageKey: `features/${DEPLOYMENT}/${j}.jpg`,
          characteristics,
        });
      }
      await measurements.write(batch);
    }
    for (let i = 0; i < 200; i++)
      await measurements.writeDriftCheck(driftCheck(now - HOUR + i * 18_000, i % 10 === 9 ? 'drift' : 'no-drift'));
    const writeSeconds = (performance.now() - writeStart) / 1000;

    const costs = [
      await timed('fleet page (GET /fleet)', async () => {
        const page = await fleetPage(deps, { limit: 50 });
        return `${page.deployments[0].framesLast5m} frames in 5 min, ${page.deployments[0].sparkline.length} points`;
      }),
      await timed('series, last hour in 60 s steps (GET /deployments/:id/series)', async () => {
        const { points } = await deploymentSeries(deps, DEPLOYMENT, { since: Date.now() - HOUR, until: Date.now(), stepMs: 60_000 });
        return `${points.length} buckets, ${points.reduce((n, p) => n + p.frames, 0)} frames`;
      }),
      await timed('2,000 frames (GET /deployments/:id/frames?limit=2000)', async () => {
        const page = await framesPage(deps, DEPLOYMENT, { limit: 2000 });
        return `${page.frames.length} frames`;
      }),
      await timed('histogram of the error, 40 bins (GET /deployments/:id/histogram)', async () => {
        const bins = await measurements.histogram(DEPLOYMENT, 'error', { count: 40 });
        return `${bins.reduce((n, b) => n + b.count, 0)} values`;
      }),
      await timed('histogram of a characteristic, 40 bins', async () => {
        const bins = await measurements.histogram(DEPLOYMENT, IMAGE_CHARACTERISTIC_FIELDS[0], { count: 40 });
        return `${bins.reduce((n, b) => n + b.count, 0)} values`;
      }),
      await timed('drift checks, 100 (GET /deployments/:id/drift?limit=100)', async () => {
        const checks = await driftChecksWithRetrains(deps, DEPLOYMENT, { limit: 100 });
        return `${checks.length} checks`;
      }),
      await timed('stats (GET /deployments/:id/stats)', async () => {
        const stats = await measurements.deploymentStats(DEPLOYMENT);
        return `${stats.count} frames`;
      }),
    ];
    return { writeSeconds, costs };
  } finally {
    await measurements.close();
    await registry.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function driftCheck(time: number, verdict: 'drift' | 'no-drift'): DriftCheckRecord {
  return {
    time,
    deployment: DEPLOYMENT,
    modelName: 'bench',
    modelVersion: 1,
    verdict,
    kinds: verdict === 'drift' ? ['performance'] : [],
    summary: verdict,
    windowFrames: 400,
    windowStart: time - 60_000,
    windowEnd: time,
    covariate: null,
    label: null,
    performance: null,
  };
}

export function consoleReadsTable(frames: number, result: { writeSeconds: number; costs: ReadCost[] }): string {
  const rows = result.costs.map((c) => `| ${c.read} | ${c.coldMs.toFixed(1)} | ${c.medianMs.toFixed(1)} | ${c.answered} |`);
  return [
    `Console reads, SQLite, ${frames.toLocaleString('en')} frames in one deployment (written in ${result.writeSeconds.toFixed(1)} s); ${REPETITIONS} runs each`,
    '',
    '| read | cold ms | median ms | answered |',
    '| --- | ---: | ---: | --- |',
    ...rows,
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const frames = Number(process.argv[2] ?? 100_000);
  console.log(consoleReadsTable(frames, await benchmarkConsoleReads(frames)));
}
