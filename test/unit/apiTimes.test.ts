import { describe, expect, it } from 'vitest';
import { isoTimes } from '../../api/isoTimes.js';
import { timeParam } from '../../api/routes/params.js';

describe('times in the API', () => {
  it('writes every time field of a response as an ISO 8601 string, and leaves other numbers alone', () => {
    const body = {
      checks: [{ time: 0, windowStart: 1_700_000_000_000, windowEnd: null, windowFrames: 300 }],
      stages: [{ at: 86_400_000 }],
    };
    expect(JSON.parse(JSON.stringify(body, isoTimes))).toEqual({
      checks: [{ time: '1970-01-01T00:00:00.000Z', windowStart: '2023-11-14T22:13:20.000Z', windowEnd: null, windowFrames: 300 }],
      stages: [{ at: '1970-01-02T00:00:00.000Z' }],
    });
  });

  it('reads a query time as ISO 8601 with its zone, a date, or epoch milliseconds', () => {
    expect(timeParam.parse('2026-01-02T03:04:05Z')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(timeParam.parse('2026-01-02T04:04:05.5+01:00')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 500));
    expect(timeParam.parse('2026-01-02')).toBe(Date.UTC(2026, 0, 2));
    expect(timeParam.parse('1767322800000')).toBe(1_767_322_800_000);
    // A time without its zone would be read in the server's zone: refused, as is anything else.
    for (const bad of ['2026-01-02T03:04:05', 'yesterday', '', '2026-13-45T00:00:00Z'])
      expect(timeParam.safeParse(bad).success).toBe(false);
  });
});
