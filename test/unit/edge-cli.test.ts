import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { driveParkingRuns, main, parseCli, UsageError } from '../../edge/cli.js';
import type { PredictInput, PredictResult } from '../../edge/roverClient.js';

afterEach(() => vi.restoreAllMocks());

const base = [
  'drive',
  '--api',
  'http://localhost:3000',
  '--client-id',
  'rover-1',
  '--token',
  'tok',
  '--preset',
  'beige-250',
  '--runs',
  '3',
];

describe('rover CLI', () => {
  it('parses drive options with defaults', () => {
    expect(parseCli([...base, '--steer-by', 'prediction', '--concurrency', '2'])).toEqual({
      command: 'drive',
      options: {
        apiUrl: 'http://localhost:3000',
        clientId: 'rover-1',
        token: 'tok',
        preset: 'beige-250',
        runs: 3,
        seed: 1,
        concurrency: 2,
        maxInFlight: 4,
        realtime: false,
        steerBy: 'prediction',
        timeoutMs: 5000,
        retries: 2,
      },
    });
    expect(parseCli(['render', '--preset', 'green-350', '--distance', '120', '--out', '/tmp/f.jpg'])).toMatchObject({
      command: 'render',
      distanceMm: 120,
      angleDeg: 0,
    });
  });

  it('takes a laser fault for the sensor health demos', () => {
    expect(parseCli([...base, '--laser-fault', 'offset:25'])).toMatchObject({ options: { laserFault: { kind: 'offset', mm: 25 } } });
    expect(parseCli(base)).toEqual(expect.objectContaining({ options: expect.not.objectContaining({ laserFault: expect.anything() }) }));
  });

  it.each([
    [[...base, '--laser-fault', 'wobbly'], /--laser-fault: laser fault "wobbly": unknown kind/],
    [['drive'], /--api is required/],
    [[...base.slice(0, -2)], /--runs is required/],
    [[...base, '--runs', '0'], /--runs must be an integer >= 1/],
    [[...base, '--steer-by', 'vibes'], /--steer-by must be sensor or prediction/],
    [[...base, '--bogus'], /unknown option --bogus/],
    [[...base.slice(0, 5), ...base.slice(7)], /the rover token is required: set ROVER_TOKEN, or give --token-file FILE/],
    [
      ['render', '--preset', 'blue', '--distance', '1', '--out', 'x'],
      /valid presets: beige-250, beige-350, green-350, green-angled-350, red-350, checker-350/,
    ],
    [['render', '--preset', 'red-350', '--distance', 'far', '--out', 'x'], /--distance must be a number/],
    [['fly'], /unknown command "fly"/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(UsageError);
    expect(() => parseCli(argv)).toThrow(message);
  });

  it('exits with 2 and lists the presets on an unknown preset', async () => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((msg: string) => void errors.push(msg));
    expect(await main(['drive', ...base.slice(1, -4), '--preset', 'purple', '--runs', '1'])).toBe(2);
    expect(errors.join('\n')).toMatch(/unknown preset "purple"; valid presets: beige-250, beige-350/);
  });

  it('drives runs concurrently within the bound and sums them up', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const client = {
      async predict(input: PredictInput): Promise<PredictResult> {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        // Hold each answer until the other run has sends in flight too (or a while has passed): rendering
        // on a busy machine is slow, so a fixed short delay rarely saw both runs' sends at once.
        const until = Date.now() + 500;
        while (inFlight <= 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        if (input.sensorMm === undefined || input.sensorMm === null)
          return { ok: false, status: 503, code: 'no_model', message: 'none', attempts: 1 };
        return {
          ok: true,
          status: 200,
          predictionMm: input.sensorMm + 2,
          deployment: 'd',
          model: { name: 'm', version: 1 },
          requestId: 'r',
          attempts: 1,
        };
      },
    };
    const lines: string[] = [];
    const summary = await driveParkingRuns({
      apiUrl: 'http://unused',
      clientId: 'c',
      token: 't',
      preset: 'beige-250',
      runs: 5,
      concurrency: 2,
      maxInFlight: 3,
      seed: 3,
      client,
      log: (line) => lines.push(line),
    });
    // Two runs at a time, three sends each: more than one run's worth, never more than both.
    expect(maxInFlight).toBeGreaterThan(3);
    expect(maxInFlight).toBeLessThanOrEqual(6);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^run \d\/5 beige-250 start=\d+mm .* frames=\d+ answered=\d+/);
    expect(summary.runs).toBe(5);
    expect(summary.frames).toBe(summary.runSummaries.reduce((a, r) => a + r.frames, 0));
    expect(summary.frames).toBeGreaterThan(5 * 20);
    expect(summary.answered + (summary.errors.no_model ?? 0)).toBe(summary.frames);
    expect(summary.meanErrorMm).toBeCloseTo(2, 6);
    expect(summary.maxErrorMm).toBeCloseTo(2, 6);
    expect(new Set(summary.runSummaries.map((r) => r.seed)).size).toBe(5);
  });

  it("with one client per rover, each rover's frames are one run after another (never two runs taking turns)", async () => {
    const readings: number[][] = [[], []];
    const rover = (i: number) => ({
      predict: async (input: PredictInput): Promise<PredictResult> => {
        if (input.sensorMm !== undefined && input.sensorMm !== null) readings[i].push(input.sensorMm);
        await new Promise((resolve) => setTimeout(resolve, 1));
        return { ok: true, status: 200, predictionMm: 100, deployment: 'd', model: { name: 'm', version: 1 }, requestId: 'r', attempts: 1 };
      },
    });
    const summary = await driveParkingRuns({
      apiUrl: 'http://unused',
      clientId: 'c',
      token: 't',
      preset: 'beige-350',
      runs: 6,
      seed: 4,
      rovers: [rover(0), rover(1)],
      log: () => {},
    });
    // A reading far above the one before is the start of the rover's next run; two runs taking turns jump every frame.
    const restarts = readings.map((r) => r.filter((mm, i) => i > 0 && mm - r[i - 1] > 60).length);
    expect(restarts[0] + restarts[1]).toBe(summary.runs - 2);
    expect(readings[0].length).toBeGreaterThan(20);
    expect(readings[1].length).toBeGreaterThan(20);
  });

  it('takes the token from ROVER_TOKEN when no flag gives it', () => {
    const argv = [...base.slice(0, 5), ...base.slice(7)];
    expect(parseCli(argv, { ROVER_TOKEN: 'from-env' })).toMatchObject({ options: { token: 'from-env' } });
    expect(parseCli(base, { ROVER_TOKEN: 'from-env' })).toMatchObject({ options: { token: 'tok' } });
  });

  it('exits non-zero before driving any run when the API refuses the token', async () => {
    let requests = 0;
    const api = http.createServer((_req, res) => {
      requests++;
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'invalid_token', message: 'wrong token' } }));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((msg: string) => void errors.push(msg));
    vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const url = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
      expect(
        await main(['drive', '--api', url, '--client-id', 'rover-1', '--token', 'wrong', '--preset', 'beige-250', '--runs', '1']),
      ).toBe(1);
      expect(errors.join('\n')).toMatch(/refused rover-1's token \(401 invalid_token: wrong token\)/);
      expect(requests).toBe(1);
    } finally {
      api.close();
    }
  });
});
