import type { ActiveRollout } from '../stores/registry.js';

/**
 * Beyond the API replicas' lookup TTL, before a stage's rovers move to the candidate: the stage's start is the
 * writing worker's clock, read by a replica a commit later, on another machine's clock.
 */
const COMMIT_AND_CLOCK_MARGIN_MS = 1000;

/**
 * How long after a stage starts its rovers move to the candidate, for API replicas that cache deployments for
 * `registryCacheTtlMs`: by then every replica has read the stage, so each rover changes version at one moment
 * whichever replica answers it, instead of alternating between the versions while the replicas catch up.
 */
export const candidateOpensAfterMs = (registryCacheTtlMs: number) => registryCacheTtlMs + COMMIT_AND_CLOCK_MARGIN_MS;

/**
 * Whether the rollout's candidate answers this rover at `now` (epoch ms): in a stage where it answers some rovers
 * (canary, ab, bandit) for the rovers the stage chose, from `opensAfterMs` after the stage started. Until then, and
 * for every other rover, the current version answers and the candidate predicts in its shadow.
 */
export function candidateAnswers(rollout: ActiveRollout | null, clientId: string, now: number, opensAfterMs: number): boolean {
  if (!rollout || rollout.stage === 'shadow' || !rollout.canaryClients.includes(clientId)) return false;
  return now >= Date.parse(rollout.stageStartedAt) + opensAfterMs;
}
