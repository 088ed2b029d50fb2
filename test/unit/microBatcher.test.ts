import { describe, expect, it } from 'vitest';
import { ItemFailure, MicroBatcher } from '../../serving/microBatcher.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Doubles each number, one call per batch, and remembers the batches it was given. */
function doubler(settings: { maxItems: number; windowMs: number }, failWhen?: (items: number[]) => boolean) {
  const calls: number[][] = [];
  const batcher = new MicroBatcher<number, number>(async (items) => {
    calls.push(items);
    await sleep(1);
    if (failWhen?.(items)) throw new Error(`batch ${items.join(',')} failed`);
    return items.map((n) => n * 2);
  }, settings);
  return { batcher, calls };
}

describe('MicroBatcher', () => {
  it('answers each item with its own output from one call for items submitted together', async () => {
    const { batcher, calls } = doubler({ maxItems: 16, windowMs: 0 });
    expect(await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.submit(n)))).toEqual([2, 4, 6, 8, 10]);
    expect(calls).toEqual([[1, 2, 3, 4, 5]]);
    expect(batcher.counters).toEqual({ batches: 1, items: 5, largest: 5 });
  });

  it('runs a full batch at once, without waiting for its window', async () => {
    const { batcher, calls } = doubler({ maxItems: 3, windowMs: 60_000 });
    const started = performance.now();
    expect(await Promise.all([1, 2, 3].map((n) => batcher.submit(n)))).toEqual([2, 4, 6]);
    expect(performance.now() - started).toBeLessThan(30_000);
    const rest = Promise.all([4, 5, 6, 7].map((n) => batcher.submit(n)));
    await sleep(20);
    expect(calls).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    void rest;
  });

  it('gathers items that arrive within the window after the first', async () => {
    const { batcher, calls } = doubler({ maxItems: 16, windowMs: 100 });
    const first = batcher.submit(1);
    await sleep(10);
    const second = batcher.submit(2);
    expect(await Promise.all([first, second])).toEqual([2, 4]);
    expect(calls).toEqual([[1, 2]]);
  });

  it('fails the items of a failing batch only', async () => {
    const { batcher, calls } = doubler({ maxItems: 2, windowMs: 0 }, (items) => items.includes(3));
    const answers = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => batcher.submit(n)));
    expect(answers.map((a) => (a.status === 'fulfilled' ? a.value : (a.reason as Error).message))).toEqual([
      2,
      4,
      'batch 3,4 failed',
      'batch 3,4 failed',
      10,
    ]);
    expect(calls).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('fails the batch when the call gives a wrong number of outputs', async () => {
    const batcher = new MicroBatcher<number, number>(async (items) => items.slice(1), { maxItems: 4, windowMs: 0 });
    await expect(Promise.all([1, 2].map((n) => batcher.submit(n)))).rejects.toThrow(/a batch of 2 gave 1 results/);
  });

  it('holds items arriving while a batch runs for the next one, with one batch in flight', async () => {
    const calls: number[][] = [];
    let finish!: () => void;
    const running = new Promise<void>((resolve) => (finish = resolve));
    const batcher = new MicroBatcher<number, number>(
      async (items) => {
        calls.push(items);
        if (calls.length === 1) await running;
        return items.map((n) => n * 2);
      },
      { maxItems: 4, windowMs: 0, maxInFlight: 1 },
    );
    const first = batcher.submit(1);
    await sleep(5);
    // The first batch is still in its call: these wait, their window long closed, and run together once it ends.
    const later = [2, 3, 4, 5, 6].map((n) => batcher.submit(n));
    await sleep(20);
    expect(calls).toEqual([[1]]);
    finish();
    expect(await Promise.all([first, ...later])).toEqual([2, 4, 6, 8, 10, 12]);
    expect(calls).toEqual([[1], [2, 3, 4, 5], [6]]);
  });

  it('holds a window open only while items come close together, with denseGapMs', async () => {
    const calls: number[][] = [];
    const batcher = new MicroBatcher<number, number>(
      async (items) => {
        calls.push(items);
        return items;
      },
      { maxItems: 8, windowMs: 200, denseGapMs: 50 },
    );
    // A lone item (nothing came before it) runs at once, not after the 200 ms window.
    const started = performance.now();
    await batcher.submit(1);
    expect(performance.now() - started).toBeLessThan(150);
    await sleep(80);
    // Still alone: the one before came more than 50 ms earlier.
    await batcher.submit(2);
    // Dense now: the next item comes right after, so its batch waits the window for the third.
    const dense = [batcher.submit(3)];
    await sleep(20);
    dense.push(batcher.submit(4));
    await Promise.all(dense);
    expect(calls).toEqual([[1], [2], [3, 4]]);
  });

  it('fails an item whose output is an ItemFailure alone', async () => {
    const batcher = new MicroBatcher<number, number>(
      async (items) => items.map((n) => (n === 3 ? new ItemFailure(new Error('cannot read 3')) : n * 2)),
      { maxItems: 4, windowMs: 0 },
    );
    const answers = await Promise.allSettled([1, 2, 3, 4].map((n) => batcher.submit(n)));
    expect(answers.map((a) => (a.status === 'fulfilled' ? a.value : (a.reason as Error).message))).toEqual([2, 4, 'cannot read 3', 8]);
    expect(batcher.counters.batches).toBe(1);
  });
});
