/**
 * The rovers of a deployment that get the candidate in a canary stage, picked by a hash of the deployment, the
 * candidate and the rover's id: sticky for the stage (the pick is stored with the rollout), different for each
 * candidate.
 *
 * Rule: floor(share x rovers), but at least one when the deployment has two rovers or more, so that a candidate
 * is never promoted without having answered a rover (with fewer than 1/share rovers the share alone rounds down
 * to none). A deployment's only rover is never the canary: that would be the whole fleet, and the stage judges
 * on the shadow evidence alone.
 */
export function canaryClientsOf(clientIds: readonly string[], share: number, deploymentId: string, candidateVersion: number): string[] {
  const count = clientIds.length < 2 ? 0 : Math.max(1, Math.floor(share * clientIds.length + 1e-9));
  return firstRanked(clientIds, count, deploymentId, candidateVersion);
}

/**
 * The first `count` rovers in the same order as the canary's pick: a rollout that changes its number of rovers (the
 * bandit) adds rovers to, or takes them from, the end of the list, and moves no other rover.
 */
export function firstRanked(clientIds: readonly string[], count: number, deploymentId: string, candidateVersion: number): string[] {
  return [...clientIds]
    .map((id) => ({ id, rank: fnv1a(`${deploymentId}/${candidateVersion}/${id}`) }))
    .sort((a, b) => a.rank - b.rank || (a.id < b.id ? -1 : 1))
    .slice(0, count)
    .map((c) => c.id)
    .sort();
}

/** 32-bit FNV-1a: spreads ids evenly; no secret is involved. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
