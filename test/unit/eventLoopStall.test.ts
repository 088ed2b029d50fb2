import { describe, expect, it } from 'vitest';
import { createApiMetrics } from '../../api/metrics.js';
import { parseExposition } from '../support/prometheus.js';

const STALL = 'api_event_loop_stall_max_seconds';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function blockFor(ms: number) {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

async function stallSeconds(metrics: ReturnType<typeof createApiMetrics>): Promise<number> {
  const { types, samples } = parseExposition(await metrics.registry.metrics());
  expect(types.get(STALL)).toBe('gauge');
  return samples.find((s) => s.name === STALL)!.value;
}

describe('the API event-loop stall gauge', () => {
  it('reports the longest stall since the previous scrape, then starts again', async () => {
    const metrics = createApiMetrics();
    await sleep(50);
    blockFor(400);
    await sleep(50);
    const stalled = await stallSeconds(metrics);
    console.log(`${STALL} after a 400 ms block: ${stalled} s`);
    expect(stalled).toBeGreaterThanOrEqual(0.4);
    await sleep(50);
    // The block is behind the previous scrape: only what came after it counts.
    expect(await stallSeconds(metrics)).toBeLessThan(0.4);
  });
});
