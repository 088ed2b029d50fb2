import { IDEMPOTENCY_KEY_HEADER } from '../../contracts/http/predict.js';
import { hashToken } from '../../api/auth.js';
import type { Stores } from '../../core/stores/index.js';

/** Idempotency-Keys of this test process: unique whatever the frames' readings. */
const KEY_PREFIX = `frame-${process.pid}-${Date.now()}`;
let keys = 0;

/** A laser reading that is frame `n`'s id in the measurement store: in the laser's range (100-200 mm) for 100,000 frames. */
export const laserReadingOf = (n: number) => 100 + n / 1000;

/** A rover of the fleet tests: its token and the deployment it belongs to. */
export interface FleetRover {
  id: string;
  token: string;
  deployment: string;
}

/** One frame a rover sent: its laser reading is its id in the measurement store (`laserReadingOf`), its Idempotency-Key its id at the API. */
export interface SentFrame {
  rover: FleetRover;
  sensor: number;
  key: string;
  /** The first 200 heard for it, with its request id. */
  acknowledged?: { requestId: string };
  /** What every attempt got: an HTTP status, or `network` when no answer came. */
  attempts: (number | 'network')[];
  /** Why each attempt without an answer failed. */
  networkErrors?: string[];
}

export interface Answer {
  status: number;
  body: Record<string, any>;
  retryAfter: string | null;
}

/** Creates `count` rovers of `deployment` in the registry. */
export async function createRovers(stores: Stores, deployment: string, count: number): Promise<FleetRover[]> {
  const rovers: FleetRover[] = [];
  for (let i = 0; i < count; i++) {
    const rover = { id: `${deployment}-rover-${i}`, token: `token-${deployment}-${i}-0123456789`, deployment };
    await stores.registry.createClient({ id: rover.id, name: rover.id, tokenHash: hashToken(rover.token), deploymentId: deployment });
    rovers.push(rover);
  }
  return rovers;
}

/** POST /predict of one frame with its key; a body that is not JSON (a load balancer's own page) reads as {}. */
export async function sendFrame(url: string, frame: SentFrame, jpeg: Buffer): Promise<Answer> {
  const form = new FormData();
  form.set('sensor_value', String(frame.sensor));
  form.set('image', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
  const res = await fetch(`${url}/predict`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${frame.rover.token}`, [IDEMPOTENCY_KEY_HEADER]: frame.key },
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body: Record<string, any> = {};
  try {
    body = JSON.parse(text) as Record<string, any>;
  } catch {
    // HAProxy's 502/503 pages are HTML.
  }
  return { status: res.status, body, retryAfter: res.headers.get('retry-after') };
}

/** Sends a frame once, noting what came back on the frame. */
async function attempt(url: string, frame: SentFrame, jpeg: Buffer): Promise<Answer | undefined> {
  try {
    const answer = await sendFrame(url, frame, jpeg);
    frame.attempts.push(answer.status);
    if (answer.status === 200 && !frame.acknowledged) frame.acknowledged = { requestId: answer.body.request_id };
    return answer;
  } catch (err) {
    frame.attempts.push('network');
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    (frame.networkErrors ??= []).push(cause?.code ?? cause?.message ?? (err as Error).message);
    return undefined;
  }
}

/**
 * Rovers sending frames back to back through `url`, `lanes` at a time, each frame once (a frame not acknowledged
 * is sent again later by `sendUntilAcknowledged`, as a rover keeps what it could not deliver). Stop with `stop()`.
 */
export class FleetDrive {
  readonly frames: SentFrame[] = [];
  private stopped = false;
  private readonly running: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly rovers: FleetRover[],
    private readonly jpeg: Buffer,
    private readonly nextSensor: () => number,
    lanes: number,
  ) {
    this.running = Promise.all(Array.from({ length: lanes }, (_, i) => this.lane(i))).then(() => undefined);
  }

  private async lane(index: number) {
    let n = index;
    while (!this.stopped) {
      const rover = this.rovers[n++ % this.rovers.length];
      const sensor = this.nextSensor();
      const frame: SentFrame = { rover, sensor, key: `${KEY_PREFIX}-${++keys}`, attempts: [] };
      this.frames.push(frame);
      const answer = await attempt(this.url, frame, this.jpeg);
      // A refusal asks for a pause; no answer at all (a replica gone) is tried again soon by the resend.
      if (!answer || answer.status !== 200) await new Promise((r) => setTimeout(r, answer?.retryAfter ? 200 : 50));
    }
  }

  get acknowledged(): SentFrame[] {
    return this.frames.filter((f) => f.acknowledged);
  }

  /** Statuses of every attempt so far, counted: `{200: 812, 502: 3, network: 1}`. */
  statusCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const f of this.frames) for (const a of f.attempts) counts[String(a)] = (counts[String(a)] ?? 0) + 1;
    return counts;
  }

  /** Resolves once `count` more frames were acknowledged (or throws after `timeoutMs`). */
  async untilAcknowledged(count: number, timeoutMs = 120_000): Promise<void> {
    const target = this.acknowledged.length + count;
    const deadline = Date.now() + timeoutMs;
    while (this.acknowledged.length < target) {
      if (Date.now() > deadline)
        throw new Error(
          `only ${this.acknowledged.length} of ${target} frames acknowledged; answers ${JSON.stringify(this.statusCounts())}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}

/**
 * Sends every frame not acknowledged yet again with its key until it is, as a rover does with what it kept: a 409
 * `idempotency_in_progress` (the key of a killed replica's request) or a 503 waits Retry-After. Returns how many
 * attempts it took.
 */
export async function sendUntilAcknowledged(url: string, frames: SentFrame[], jpeg: Buffer, timeoutMs = 180_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  for (const frame of frames) {
    while (!frame.acknowledged) {
      if (Date.now() > deadline) throw new Error(`frame ${frame.sensor} not acknowledged: ${JSON.stringify(frame.attempts)}`);
      attempts++;
      const answer = await attempt(url, frame, jpeg);
      if (answer?.status === 200) break;
      if (answer && ![409, 502, 503, 504].includes(answer.status))
        throw new Error(`frame ${frame.sensor}: unexpected answer ${answer.status} ${JSON.stringify(answer.body)}`);
      await new Promise((r) => setTimeout(r, Math.min(5, Number(answer?.retryAfter ?? 0.5)) * 1000));
    }
  }
  return attempts;
}

/** How many rows the measurement store holds per laser reading (a frame's id) of these deployments, and their request ids. */
export async function storedFrames(
  stores: Stores,
  deployments: string[],
): Promise<{ bySensor: Map<string, number>; requestIds: Set<string> }> {
  const rows = await stores.measurements.datasetRows(deployments);
  const bySensor = new Map<string, number>();
  const requestIds = new Set<string>();
  for (const row of rows) {
    const id = `${row.deployment}/${row.sensorValue}`;
    bySensor.set(id, (bySensor.get(id) ?? 0) + 1);
    requestIds.add(row.imageKey.replace(/^.*\/([^/]+)\.jpg$/, '$1'));
  }
  return { bySensor, requestIds };
}

/** Acknowledged vs stored, waiting up to `timeoutMs` for the stores to catch up: the frames missing, and those stored twice. */
export async function acknowledgedVsStored(
  stores: Stores,
  frames: SentFrame[],
  timeoutMs = 120_000,
): Promise<{ acknowledged: number; stored: number; missing: SentFrame[]; duplicated: SentFrame[] }> {
  const deployments = [...new Set(frames.map((f) => f.rover.deployment))];
  const acknowledged = frames.filter((f) => f.acknowledged);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { bySensor, requestIds } = await storedFrames(stores, deployments);
    const missing = acknowledged.filter((f) => !requestIds.has(f.acknowledged!.requestId));
    if (missing.length === 0 || Date.now() > deadline) {
      const stored = acknowledged.length - missing.length;
      const duplicated = frames.filter((f) => (bySensor.get(`${f.rover.deployment}/${f.sensor}`) ?? 0) > 1);
      return { acknowledged: acknowledged.length, stored, missing, duplicated };
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
