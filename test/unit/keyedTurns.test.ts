import { describe, expect, it } from 'vitest';
import { KeyedTurns } from '../../core/stores/sql/keyedTurns.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('KeyedTurns', () => {
  it('runs the tasks of one key one at a time in the order they asked, other keys alongside, past failures', async () => {
    const turns = new KeyedTurns();
    const log: string[] = [];
    const task =
      (name: string, ms: number, fail = false) =>
      async () => {
        log.push(`${name}+`);
        await sleep(ms);
        log.push(`${name}-`);
        if (fail) throw new Error(`${name} failed`);
        return name;
      };
    const results = await Promise.allSettled([
      turns.run('file-a', task('a1', 30, true)),
      turns.run('file-a', task('a2', 5)),
      turns.run('file-b', task('b1', 10)),
      turns.run('file-a', task('a3', 1)),
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['a1 failed', 'a2', 'b1', 'a3']);
    expect(log.filter((e) => e.startsWith('a'))).toEqual(['a1+', 'a1-', 'a2+', 'a2-', 'a3+', 'a3-']);
    // b1 started while a1 was running and finished before it.
    expect(log.indexOf('b1+')).toBeLessThan(log.indexOf('a1-'));
    expect(log.indexOf('b1-')).toBeLessThan(log.indexOf('a1-'));
  });
});
