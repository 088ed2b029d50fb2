import { mm, pValue } from './format.js';
import type { DriftCheckRow, FeatureEvidence, StageCheck } from './wire.js';

/** How the drift and rollouts pages read the evidence of drift checks and rollout stages (pure: tested in test/unit). */

/** A p-value of 0 (underflow) has no logarithm: drawn at this floor. */
export const P_FLOOR = 1e-16;
/** The heat map shows the newest checks that tested the characteristics. */
export const HEATMAP_CHECKS = 40;

/** What the heat map colours each characteristic's cell by. */
export const HEAT_STATISTICS = {
  adjustedP: { label: 'BH-adjusted p-value', log: true },
  wasserstein: { label: 'Wasserstein distance (reference sd)', log: false },
  ks: { label: 'Kolmogorov-Smirnov distance', log: false },
  psi: { label: 'PSI', log: false },
  outsideShare: { label: 'share outside the reference’s central 99 %', log: false },
} satisfies Record<string, { label: string; log: boolean }>;
export type HeatStatistic = keyof typeof HEAT_STATISTICS;

/** One cell per characteristic and check (oldest check first), from the checks that tested the characteristics. */
export function heatCells(checks: DriftCheckRow[], statistic: HeatStatistic) {
  const columns = checks
    .filter((c) => c.covariate)
    .slice(0, HEATMAP_CHECKS)
    .reverse();
  const cells: { column: number; time: string; feature: string; value: number; drifted: boolean; evidence: FeatureEvidence }[] = [];
  columns.forEach((check, column) => {
    for (const [feature, evidence] of Object.entries(check.covariate!.features)) {
      if (!evidence) continue;
      const raw = evidence[statistic];
      cells.push({
        column,
        time: check.time,
        feature,
        value: statistic === 'adjustedP' ? Math.max(raw, P_FLOOR) : raw,
        drifted: evidence.drifted,
        evidence,
      });
    }
  });
  return { columns, cells };
}

/** A stage's look in one line: frames, pairs, both errors, the two one-sided p-values, and the stop band's when judged. */
export function evidenceLine(check: StageCheck): string {
  const c = check.comparison;
  const s = check.stopBand;
  return (
    `${check.frames} frames, ${c.pairs} paired, ${check.answeredByCandidate} answered by the candidate; ` +
    `error ${mm(c.meanErrorCurrent)} current vs ${mm(c.meanErrorCandidate)} candidate; ` +
    `p(better) = ${pValue(c.pCandidateBetter)}, p(worse) = ${pValue(c.pCandidateWorse)}` +
    (s
      ? `; stop band (<= 100 mm): ${s.pairs} paired, error ${mm(s.meanErrorCurrent)} current vs ${mm(s.meanErrorCandidate)} candidate, ` +
        `p(worse) = ${pValue(s.pCandidateWorse)}`
      : '')
  );
}
