import { describe, expect, it } from 'vitest';
import { describeAsk } from '../../console/src/asks.js';
import { jsonObject, numberList } from '../../console/src/parse.js';

describe('console form parsing', () => {
  it('reads comma lists of numbers, nothing from an empty field, and names a bad item', () => {
    expect(numberList('Epochs', '10, 20 30')).toEqual({ values: [10, 20, 30] });
    expect(numberList('Epochs', '  ')).toEqual({});
    expect(numberList('Dropouts', '0.1, a')).toEqual({ problem: 'Dropouts: "a" is not a number' });
  });
  it('takes a JSON object and says why anything else is not one', () => {
    expect(jsonObject('{"deployments": ["a"]}')).toEqual({ value: { deployments: ['a'] } });
    expect(jsonObject('[1]').problem).toBe('the config must be a JSON object');
    expect(jsonObject('{').problem).toMatch(/^not valid JSON/);
  });
});

describe('who asked for a retrain', () => {
  it('reads each trigger’s payload', () => {
    expect(describeAsk({ trigger: 'manual', payload: { ask: { by: 'alice', reason: 'new gravel' } } })).toEqual({
      who: 'alice',
      what: 'new gravel',
    });
    expect(describeAsk({ trigger: 'manual', payload: { ask: { by: 'bob', fromVersion: 2, sweep: { epochs: [20, 40] } } } })).toEqual({
      who: 'bob',
      what: 'rerun of v2; epochs 20/40',
    });
    expect(
      describeAsk({
        trigger: 'grafana',
        payload: { labels: { alertname: 'SaturationDrift', deployment: 'green' }, startsAt: '2025-06-01T10:00:00Z' },
      }),
    ).toEqual({ who: 'Grafana alert SaturationDrift', what: 'deployment green; firing since 2025-06-01T10:00:00Z' });
    expect(
      describeAsk({ trigger: 'drift-monitor', payload: { ask: { deployment: 'green', modelVersion: 3, summary: '412 frames; drift' } } }),
    ).toEqual({
      who: 'drift monitor',
      what: 'green v3: 412 frames; drift',
    });
    expect(describeAsk({ trigger: 'cli', payload: null })).toEqual({ who: 'api', what: 'no reason given, the stored training config' });
  });
});
