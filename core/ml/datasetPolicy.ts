import { hash } from 'node:crypto';
import type { DatasetRow } from '../stores/measurements.js';

/**
 * Which labelled records of the deployments a dataset keeps, so training time stays bounded as the history grows:
 * every record, the newest N per deployment, or a sample of N per deployment that stays the same across retrains
 * (the N records with the lowest hash of their image key: a new record enters only by displacing one).
 */
export type DatasetPolicy =
  { kind: 'all' } | { kind: 'last'; perDeployment: number } | { kind: 'reservoir'; perDeployment: number; seed: number };

export const DEFAULT_DATASET_POLICY: DatasetPolicy = { kind: 'all' };

/** A frame's place in [0, 1) under a seed: the first 32 bits of sha256(`seed:imageKey`). */
export function frameHash(imageKey: string, seed: number): number {
  return hash('sha256', `${seed}:${imageKey}`, 'buffer').readUInt32BE(0) / 2 ** 32;
}

/**
 * A frame is in the test split when its hash falls below the test fraction: the split of a frame never changes
 * across retrains with the same seed, so no test frame of one retrain trains the next.
 */
export function isTestFrame(imageKey: string, seed: number, testFraction: number): boolean {
  return frameHash(imageKey, seed) < testFraction;
}

/** The records the policy keeps, in their original (time) order. */
export function selectRows(rows: DatasetRow[], policy: DatasetPolicy): DatasetRow[] {
  if (policy.kind === 'all') return rows;
  const byDeployment = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const list = byDeployment.get(row.deployment) ?? [];
    list.push(i);
    byDeployment.set(row.deployment, list);
  });
  const kept = new Set<number>();
  for (const indices of byDeployment.values()) {
    if (policy.kind === 'last') {
      for (const i of indices.slice(-policy.perDeployment)) kept.add(i);
    } else {
      const ranked = indices.map((i) => ({ i, h: frameHash(rows[i].imageKey, policy.seed) })).sort((a, b) => a.h - b.h);
      for (const { i } of ranked.slice(0, policy.perDeployment)) kept.add(i);
    }
  }
  return rows.filter((_, i) => kept.has(i));
}
