import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseExposition } from '../support/prometheus.js';

/** The tests' reader of the exposition format, on what prom-client writes. */
describe('parseExposition', () => {
  it('reads labelled counters with escaped values and labelled histograms, as prom-client writes them', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'c_total', help: 'c', labelNames: ['route', 'reason'], registers: [registry] });
    counter.inc({ route: '/a/:id', reason: 'say "no"\\\nnow' }, 3);
    counter.inc({ route: '/b', reason: 'x' });
    const histogram = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['outcome'], buckets: [0.5, 1], registers: [registry] });
    histogram.observe({ outcome: 'loaded' }, 0.7);
    histogram.observe({ outcome: 'loaded' }, 2);
    histogram.observe({ outcome: 'failed' }, 0.1);

    const { types, samples } = parseExposition(await registry.metrics());
    expect(types).toEqual(
      new Map([
        ['c_total', 'counter'],
        ['h_seconds', 'histogram'],
      ]),
    );
    const value = (name: string, labels: Record<string, string>) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).map((s) => s.value);
    expect(value('c_total', { reason: 'say "no"\\\nnow' })).toEqual([3]);
    expect(value('c_total', { route: '/b' })).toEqual([1]);
    expect(value('h_seconds_count', { outcome: 'loaded' })).toEqual([2]);
    expect(value('h_seconds_sum', { outcome: 'loaded' })).toEqual([2.7]);
    expect(value('h_seconds_bucket', { outcome: 'loaded', le: '1' })).toEqual([1]);
    expect(value('h_seconds_bucket', { outcome: 'failed', le: '+Inf' })).toEqual([1]);
  });

  it('reads NaN and Inf in any case, as Prometheus does (prom-client writes a gauge\'s NaN as "Nan")', () => {
    const values = parseExposition('a Nan\nb NaN\nc +Inf\nd -inf\n').samples.map((s) => s.value);
    expect(values).toEqual([NaN, NaN, Infinity, -Infinity]);
  });

  it('refuses a line that is not a sample', () => {
    expect(() => parseExposition('x{a="1"} 1\nx{a="1} 2\n')).toThrow(/line 2/);
    expect(() => parseExposition('x one\n')).toThrow(/bad value/);
  });
});
