import { describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';

describe('eventually', () => {
  it('retries a failing check until it passes and returns its value', async () => {
    let calls = 0;
    const value = await eventually(
      async () => {
        calls++;
        expect(calls).toBeGreaterThanOrEqual(3);
        return 'done';
      },
      { intervalMs: 10 },
    );
    expect(value).toBe('done');
    expect(calls).toBe(3);
  });

  it('fails with the last error at the deadline', async () => {
    const started = Date.now();
    await expect(eventually(() => expect('never').toBe('ready'), { timeoutMs: 300, intervalMs: 20 })).rejects.toThrow(/never/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
