import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type { rearmStatusSchema } from '../../contracts/http/monitor.js';
import type { RearmStatus } from '../../control/driftRearm.js';
import { DEFAULT_MONITOR_CONFIG, monitorConfigSchema } from '../../core/drift/monitorConfig.js';
import { backoffMs, decideRearm, rearmDedupeKey, type RearmFacts } from '../../core/drift/rearm.js';
import { driftDedupeKey } from '../../core/drift/driftReport.js';

const HOUR = 3_600_000;
const t0 = Date.parse('2026-12-06T00:00:00Z');
const config = DEFAULT_MONITOR_CONFIG.rearm;

/** A drift asked once at t0, its run over with nothing registered, the dataset had 400 frames of the deployment, none new. */
const facts = (change: Partial<RearmFacts> = {}): RearmFacts => ({
  now: t0 + 10 * 60_000,
  earlier: { requestId: 7, attempt: 0, recordedAt: t0, outcome: 'started' },
  run: 'over',
  registeredSince: null,
  datasetFrames: 400,
  newFrames: 0,
  reasksToday: [],
  ...change,
});

describe('decideRearm', () => {
  it('waits while the deployment has sent fewer new frames than the retrain had and the back-off has not passed', () => {
    const decision = decideRearm(facts({ newFrames: 399 }), config);
    expect(decision).toMatchObject({ rearm: false, state: 'waiting', framesNeeded: 400, newFrames: 399, backoffUntil: t0 + HOUR });
    expect(decision.reason).toMatch(/399 of 400 new frames/);
  });

  it('asks again once as many new frames arrived as the retrain had from the deployment, naming the earlier ask', () => {
    expect(decideRearm(facts({ newFrames: 400 }), config)).toMatchObject({
      rearm: true,
      state: 'armed',
      of: 7,
      attempt: 1,
      because: 'new-frames',
    });
    // The ratio scales what counts as enough.
    expect(decideRearm(facts({ newFrames: 400 }), { ...config, newFramesRatio: 2 })).toMatchObject({ rearm: false, framesNeeded: 800 });
  });

  it('asks again after the back-off, which doubles with each re-ask up to its bound', () => {
    expect(decideRearm(facts({ now: t0 + HOUR }), config)).toMatchObject({ rearm: true, because: 'back-off', attempt: 1 });
    expect(backoffMs(0, config)).toBe(HOUR);
    expect(backoffMs(1, config)).toBe(2 * HOUR);
    expect(backoffMs(3, config)).toBe(8 * HOUR);
    expect(backoffMs(10, config)).toBe(24 * HOUR);
    const second = facts({ earlier: { requestId: 9, attempt: 1, recordedAt: t0, outcome: 'started' }, now: t0 + HOUR, reasksToday: [t0] });
    expect(decideRearm(second, config)).toMatchObject({ rearm: false, state: 'waiting', backoffUntil: t0 + 2 * HOUR });
    expect(decideRearm({ ...second, now: t0 + 2 * HOUR }, config)).toMatchObject({ rearm: true, of: 9, attempt: 2 });
  });

  it('without the dataset’s count (the run never assembled one), only the back-off re-arms', () => {
    const decision = decideRearm(facts({ datasetFrames: null, newFrames: 10_000 }), config);
    expect(decision).toMatchObject({ rearm: false, state: 'waiting', framesNeeded: null });
  });

  it('never asks again while the run goes on, once a version was registered since, or with the ask not handed over yet', () => {
    const enough = { newFrames: 5000, now: t0 + 48 * HOUR };
    expect(decideRearm(facts({ ...enough, run: 'running' }), config)).toMatchObject({ rearm: false, state: 'run-in-progress' });
    expect(decideRearm(facts({ ...enough, registeredSince: 3 }), config)).toMatchObject({ rearm: false, state: 'registered' });
    expect(decideRearm(facts({ ...enough, run: 'unknown' }), config)).toMatchObject({ rearm: false, state: 'unknown' });
    const pending = facts({ ...enough, earlier: { requestId: 7, attempt: 0, recordedAt: t0, outcome: 'pending' } });
    expect(decideRearm(pending, config)).toMatchObject({ rearm: false, state: 'run-in-progress' });
  });

  it('stops at the cap per model in any 24 hours, and says when the next one may be asked', () => {
    const enough = { newFrames: 5000, now: t0 + 48 * HOUR };
    const today = [t0 + 30 * HOUR, t0 + 40 * HOUR, t0 + 47 * HOUR];
    const capped = decideRearm(facts({ ...enough, reasksToday: today }), config);
    expect(capped).toMatchObject({ rearm: false, state: 'capped', capFreesAt: t0 + 54 * HOUR });
    expect(capped.reason).toMatch(/3 of 3 re-asks/);
    expect(decideRearm(facts({ ...enough, reasksToday: today.slice(1) }), config)).toMatchObject({ rearm: true });
    expect(decideRearm(facts(enough), { ...config, maxPerDay: 0 })).toMatchObject({ rearm: false, state: 'off' });
  });
});

describe('rearm config and keys', () => {
  it('has defaults, fills a partial group, and refuses nonsense', () => {
    expect(DEFAULT_MONITOR_CONFIG.rearm).toEqual({ maxPerDay: 3, newFramesRatio: 1, backoffMinutes: 60, maxBackoffMinutes: 1440 });
    expect(monitorConfigSchema.parse({ rearm: { maxPerDay: 1 } }).rearm.backoffMinutes).toBe(60);
    expect(monitorConfigSchema.safeParse({ rearm: { maxPerDay: -1 } }).success).toBe(false);
    expect(monitorConfigSchema.safeParse({ rearm: { newFramesRatio: 0 } }).success).toBe(false);
  });

  it('gives each re-ask of one drift a key of its own, so a repeat of the same re-ask is a duplicate', () => {
    expect(rearmDedupeKey('shifted', 1, 2)).toBe(`${driftDedupeKey('shifted', 1)}:rearm-2`);
    expect(rearmDedupeKey('shifted', 1, 2)).not.toBe(rearmDedupeKey('shifted', 1, 3));
  });
});

describe('the monitor status', () => {
  it('answers re-arming as its wire schema says', () => {
    expectTypeOf<RearmStatus>().toExtend<z.infer<typeof rearmStatusSchema>>();
  });
});
