/** The line a person reads about a rollout in the Web UI (its current details): where it stands, or how it ended. */
import type { RolloutOutcome, StageCheck } from './contract.js';

const mm = (value: number | null) => (value === null ? '-' : `${value.toFixed(2)} mm`);

/** e.g. `canary v3 vs v2: 412 paired frames, current 5.10 mm vs candidate 4.80 mm, p(better) 0.003: continue (...)`. */
export function stageLine(candidateVersion: number, currentVersion: number | null, check: StageCheck): string {
  const { comparison: c } = check;
  return (
    `${check.stage} v${candidateVersion} vs v${currentVersion ?? '-'}: ${c.pairs} paired frames, ` +
    `current ${mm(c.meanErrorCurrent)} vs candidate ${mm(c.meanErrorCandidate)}, p(better) ${c.pCandidateBetter.toPrecision(2)}: ` +
    `${check.verdict} (${check.reason})`
  );
}

/** e.g. `promoted v3 on beige: canary: ...`. */
export const outcomeLine = (outcome: RolloutOutcome, candidateVersion: number, deploymentId: string, reason: string) =>
  `${outcome} v${candidateVersion} on ${deploymentId}: ${reason}`;
