import { describe, expect, it } from 'vitest';
import { candidateAnswers, candidateOpensAfterMs } from '../../core/rollout/candidateArm.js';
import type { ActiveRollout } from '../../core/stores/registry.js';

const STARTED = Date.parse('2026-12-06T10:00:00.000Z');
const rollout = (stage: ActiveRollout['stage']): ActiveRollout => ({
  candidateVersion: 2,
  stage,
  canaryClients: ['rover-1'],
  workflowId: 'rollout-d',
  startedAt: new Date(STARTED - 60_000).toISOString(),
  stageStartedAt: new Date(STARTED).toISOString(),
});

describe("a rover's arm in a rollout", () => {
  const opensAfter = candidateOpensAfterMs(5000);

  it('opens to the stage rovers once every replica has read the stage: one TTL and a margin after it started', () => {
    expect(opensAfter).toBeGreaterThan(5000);
    for (const stage of ['canary', 'ab', 'bandit'] as const) {
      expect(candidateAnswers(rollout(stage), 'rover-1', STARTED, opensAfter)).toBe(false);
      expect(candidateAnswers(rollout(stage), 'rover-1', STARTED + 5000, opensAfter)).toBe(false);
      expect(candidateAnswers(rollout(stage), 'rover-1', STARTED + opensAfter, opensAfter)).toBe(true);
      expect(candidateAnswers(rollout(stage), 'rover-1', STARTED + 3_600_000, opensAfter)).toBe(true);
    }
  });

  it('never gives the candidate to rovers outside the stage, in shadow, or without a rollout', () => {
    const later = STARTED + 3_600_000;
    expect(candidateAnswers(rollout('canary'), 'rover-2', later, opensAfter)).toBe(false);
    expect(candidateAnswers(rollout('shadow'), 'rover-1', later, opensAfter)).toBe(false);
    expect(candidateAnswers(null, 'rover-1', later, opensAfter)).toBe(false);
  });

  it('opens at once for a single API (no delay)', () => {
    expect(candidateAnswers(rollout('canary'), 'rover-1', STARTED, 0)).toBe(true);
  });
});
