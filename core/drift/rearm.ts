/**
 * Re-arming the drift monitor: one drift asks once per deployment and serving version (driftDedupeKey); when the
 * retrain it asked for ended with no new version (if-better refused it, or the run failed), the drift stays while
 * nobody is told. These rules decide when the monitor asks again for the same drift: once the deployment has sent
 * as many new labelled frames as that retrain's dataset had from it, or once a back-off has passed that doubles with
 * each re-ask; never more than `maxPerDay` re-asks per model in any 24 hours. Pure: the control layer gathers the facts.
 */
import type { RetrainOutcome } from '../stores/registry.js';
import { driftDedupeKey } from './driftReport.js';
import type { MonitorConfig } from './monitorConfig.js';

export type RearmConfig = MonitorConfig['rearm'];

const DAY_MS = 24 * 60 * 60 * 1000;

/** Where a drift's re-arming stands: `armed` asks now; the others say why not. */
export const REARM_STATES = ['armed', 'waiting', 'capped', 'run-in-progress', 'registered', 'unknown', 'off'] as const;
export type RearmState = (typeof REARM_STATES)[number];
export type RearmReason = 'new-frames' | 'back-off';

/** The last ask for one drift (deployment and serving version): the first ask (attempt 0) or its latest re-ask. */
export interface EarlierAsk {
  requestId: number;
  attempt: number;
  /** Epoch ms the ask was recorded. */
  recordedAt: number;
  outcome: RetrainOutcome;
}

export interface RearmFacts {
  now: number;
  earlier: EarlierAsk;
  /** The model's TrainAndRegister run: still going, over, or unknown (Temporal unreachable). */
  run: 'running' | 'over' | 'unknown';
  /** A version of the model registered since the earlier ask (its number), or null. */
  registeredSince: number | null;
  /** Labelled frames of the deployment in the earlier retrain's dataset; null when it left none to read. */
  datasetFrames: number | null;
  /** Labelled frames of the deployment newer than that dataset (or than the earlier ask, without one). */
  newFrames: number;
  /** Epoch ms of the model's re-asks in the last 24 hours. */
  reasksToday: number[];
}

export interface RearmDecision {
  rearm: boolean;
  state: RearmState;
  /** In a person's words. */
  reason: string;
  /** With `rearm`: the ask this one repeats, its attempt number, and what re-armed it. */
  of?: number;
  attempt?: number;
  because?: RearmReason;
  framesNeeded: number | null;
  newFrames: number;
  /** Epoch ms the back-off of the earlier ask ends. */
  backoffUntil: number;
  /** When capped: epoch ms the oldest of the day's re-asks leaves the 24 hours. */
  capFreesAt?: number;
}

/** The back-off after an ask of this attempt (0: the first ask): `backoffMinutes`, doubled per re-ask, at most `maxBackoffMinutes`. */
export function backoffMs(attempt: number, config: RearmConfig): number {
  return Math.min(config.backoffMinutes * 2 ** attempt, config.maxBackoffMinutes) * 60_000;
}

/** Each re-ask of one drift is recorded under a key of its own: a repeat of the same re-ask (a retried activity, a second monitor) is a duplicate. */
export function rearmDedupeKey(deployment: string, modelVersion: number, attempt: number): string {
  return `${driftDedupeKey(deployment, modelVersion)}:rearm-${attempt}`;
}

export function decideRearm(facts: RearmFacts, config: RearmConfig): RearmDecision {
  const { earlier, now, newFrames, datasetFrames } = facts;
  const framesNeeded = datasetFrames === null ? null : Math.max(1, Math.ceil(config.newFramesRatio * datasetFrames));
  const backoffUntil = earlier.recordedAt + backoffMs(earlier.attempt, config);
  const base = { framesNeeded, newFrames, backoffUntil };
  const no = (state: RearmState, reason: string, extra: Partial<RearmDecision> = {}): RearmDecision => ({
    rearm: false,
    state,
    reason,
    ...base,
    ...extra,
  });
  if (config.maxPerDay === 0) return no('off', 're-arming is off (rearm.maxPerDay is 0): this drift is not asked for again');
  if (earlier.outcome === 'pending') return no('run-in-progress', `request ${earlier.requestId} is not handed to Temporal yet`);
  if (facts.registeredSince !== null)
    return no(
      'registered',
      `version ${facts.registeredSince} was registered since request ${earlier.requestId}: it is judged, not retrained again`,
    );
  if (facts.run === 'unknown')
    return no('unknown', `whether the retrain of request ${earlier.requestId} is over cannot be told (Temporal unreachable)`);
  if (facts.run === 'running') return no('run-in-progress', `the retrain of request ${earlier.requestId} is still running`);

  const today = facts.reasksToday.filter((t) => t > now - DAY_MS).sort((a, b) => a - b);
  if (today.length >= config.maxPerDay)
    return no(
      'capped',
      `${today.length} of ${config.maxPerDay} re-asks per day used: asked again after ${new Date(today[0] + DAY_MS).toISOString()} at the earliest`,
      {
        capFreesAt: today[0] + DAY_MS,
      },
    );
  const byFrames = framesNeeded !== null && newFrames >= framesNeeded;
  if (!byFrames && now < backoffUntil) {
    const frames =
      framesNeeded === null
        ? `${newFrames} new frames (the retrain left no dataset to compare with)`
        : `${newFrames} of ${framesNeeded} new frames`;
    return no(
      'waiting',
      `request ${earlier.requestId} registered nothing: ${frames}, back-off until ${new Date(backoffUntil).toISOString()}`,
    );
  }
  const because: RearmReason = byFrames ? 'new-frames' : 'back-off';
  const why = byFrames
    ? `${newFrames} new frames (at least ${framesNeeded})`
    : `its back-off of ${backoffMs(earlier.attempt, config) / 60_000} minutes passed`;
  return {
    rearm: true,
    state: 'armed',
    reason: `request ${earlier.requestId} registered nothing and ${why}`,
    of: earlier.requestId,
    attempt: earlier.attempt + 1,
    because,
    ...base,
  };
}
