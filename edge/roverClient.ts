/**
 * Typed HTTP client for the rover's routes of the API (`POST /predict`, `GET /clients/me`, `POST /parking-runs`),
 * on Node's global fetch. Never throws for HTTP or network errors: every call resolves to a result.
 */
import { z } from 'zod';
import { clientSelfAnswerSchema, type ClientSelfAnswer } from '../contracts/http/clients.js';
import { errorBodySchema } from '../contracts/http/common.js';
import { parkingRunAnswerSchema, type ParkingRunReport } from '../contracts/http/parking.js';
import {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAYED_HEADER,
  predictAnswerSchema,
  type PredictAnswer,
  type predictFormSchema,
} from '../contracts/http/predict.js';
import { unreachableReason } from '../core/commandLine.js';

export interface RoverClientOptions {
  apiUrl: string;
  clientId: string;
  token: string;
  /** Per-attempt timeout (default 5000 ms). */
  timeoutMs?: number;
  /** Extra attempts after the first for network errors, timeouts and retryable 5xx (default 2). */
  retries?: number;
  /** First backoff delay, doubled per retry (default 100 ms), capped at maxBackoffMs (default 2000). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Total time a frame may wait on answers with `Retry-After` (503 overloaded or spool_full,
   * 429) before the failure is returned (default 15 s). Those waits do not use up `retries`.
   */
  retryAfterBudgetMs?: number;
}

export interface PredictInput {
  jpeg: Uint8Array;
  /** Laser reading in mm, the reference label; omitted when the sensor dropped out. */
  sensorMm?: number | null;
  /** Makes the upload safe to repeat: the API stores a frame sent twice with one key once. */
  idempotencyKey?: string;
  /** How old the frame was when predict() was called (a frame kept while the API was away); retries add their wait. */
  frameAgeMs?: number;
}

export type PredictResult =
  | {
      ok: true;
      status: 200;
      predictionMm: PredictAnswer['prediction_mm'];
      deployment: PredictAnswer['deployment'];
      model: PredictAnswer['model'];
      requestId: PredictAnswer['request_id'];
      attempts: number;
      /** The API had already answered this idempotency key: the frame was stored by an earlier upload. */
      replayed?: true;
    }
  | {
      ok: false;
      /** HTTP status, or null when no response arrived (network error, timeout). */
      status: number | null;
      /** The API's error code, or network_error / timeout / bad_response. */
      code: string;
      message: string;
      attempts: number;
      /** The API's `Retry-After` in ms, when it asked for one beyond the wait budget. */
      retryAfterMs?: number;
    };

/** The multipart fields of `POST /predict`, as the API describes them (contracts/http/predict.ts). */
type FormField = keyof z.input<typeof predictFormSchema>;
const field = (name: FormField) => name;

export type Failure = Extract<PredictResult, { ok: false }>;

export type WhoAmIResult = { ok: true; answer: ClientSelfAnswer } | Failure;
export type ReportRunResult = { ok: true; status: number; replayed: boolean } | Failure;

/**
 * Whether a failed upload may be tried again later (store and forward): no answer, the API busy or refusing for now
 * (429, 5xx, a repeat of a key still in progress). `no_model` recorded the frame, and other 4xx will not change.
 */
export function isRetryableFailure(failure: Pick<Failure, 'status' | 'code'>): boolean {
  if (failure.status === null) return true;
  if (failure.code === 'no_model') return false;
  return failure.status >= 500 || failure.status === 429 || failure.code === 'idempotency_in_progress';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class RoverClient {
  private readonly url: string;
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly retryAfterBudgetMs: number;

  constructor(private readonly options: RoverClientOptions) {
    this.base = options.apiUrl.replace(/\/+$/, '');
    this.url = `${this.base}/predict`;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.retries = Math.max(0, options.retries ?? 2);
    this.backoffMs = options.backoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 2000;
    this.retryAfterBudgetMs = options.retryAfterBudgetMs ?? 15_000;
  }

  async predict(input: PredictInput): Promise<PredictResult> {
    let retries = 0;
    let waitedMs = 0;
    const calledAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      const frameAgeMs = input.frameAgeMs === undefined ? undefined : input.frameAgeMs + (Date.now() - calledAt);
      const { result, retryable, retryAfterMs } = await this.attempt({ ...input, frameAgeMs }, attempt);
      if (result.ok || !retryable) return result;
      if (retryAfterMs !== undefined) {
        // The API said when to come back: wait that long if the budget allows, else report it.
        if (waitedMs + retryAfterMs > this.retryAfterBudgetMs) return { ...result, retryAfterMs };
        waitedMs += retryAfterMs;
        await sleep(retryAfterMs);
        continue;
      }
      if (retries >= this.retries) return result;
      await sleep(Math.min(this.maxBackoffMs, this.backoffMs * 2 ** retries));
      retries++;
    }
  }

  /** `GET /clients/me`: who this token belongs to and which deployment (and version) the rover serves. */
  async whoAmI(): Promise<WhoAmIResult> {
    const sent = await this.request('GET', '/clients/me');
    if (!('response' in sent)) return sent;
    const parsed = sent.response.status === 200 ? clientSelfAnswerSchema.safeParse(parseJson(sent.text)) : undefined;
    if (parsed?.success) return { ok: true, answer: parsed.data };
    return parsed ? badResponse(sent.text) : errorAnswer(sent.response, sent.text);
  }

  /** `POST /parking-runs`: a run's outcome; reporting one run twice stores it once (`replayed`). */
  async reportParkingRun(report: ParkingRunReport): Promise<ReportRunResult> {
    const sent = await this.request('POST', '/parking-runs', report);
    if (!('response' in sent)) return sent;
    const { status } = sent.response;
    if (status !== 200 && status !== 201) return errorAnswer(sent.response, sent.text);
    const parsed = parkingRunAnswerSchema.safeParse(parseJson(sent.text));
    return parsed.success ? { ok: true, status, replayed: parsed.data.replayed } : badResponse(sent.text);
  }

  /** One JSON request with this client's token; a network failure or a timeout as a Failure. */
  private async request(method: string, route: string, body?: unknown): Promise<{ response: Response; text: string } | Failure> {
    return this.send(`${this.base}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${this.options.token}`,
        'x-client-id': this.options.clientId,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /**
   * Whether the API is there and takes this client's token, without sending a frame: a POST /predict without an
   * image, which the API answers 400 missing_image once it has accepted the token (and records nothing).
   */
  async probe(): Promise<{ ok: true } | Failure> {
    const form = new FormData();
    form.set(field('client_id'), this.options.clientId);
    const sent = await this.post(form, 1);
    if (!('response' in sent)) return sent;
    const { response, text } = sent;
    const parsed = errorBodySchema.safeParse(parseJson(text));
    const code = parsed.success ? parsed.data.error.code : `http_${response.status}`;
    // Past authentication: the API wants the image, or is busy (it took the token before it said so).
    if (code === 'missing_image' || (parsed.success && [429, 503].includes(response.status))) return { ok: true };
    const message = parsed.success ? parsed.data.error.message : `not the API's answer: ${text.slice(0, 80) || response.statusText}`;
    return { ok: false, status: response.status, code, message, attempts: 1 };
  }

  /** One POST /predict of `form` with this client's token; a network failure or a timeout as a Failure. */
  private post(form: FormData, attempts: number, idempotencyKey?: string): Promise<{ response: Response; text: string } | Failure> {
    return this.send(
      this.url,
      {
        method: 'POST',
        // The id travels as a header too, so the API authenticates before it reads the body.
        headers: {
          authorization: `Bearer ${this.options.token}`,
          'x-client-id': this.options.clientId,
          ...(idempotencyKey === undefined ? {} : { [IDEMPOTENCY_KEY_HEADER]: idempotencyKey }),
        },
        body: form,
      },
      attempts,
    );
  }

  private async send(url: string, init: RequestInit, attempts = 1): Promise<{ response: Response; text: string } | Failure> {
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
      return { response, text: await response.text() };
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      const message = unreachableReason(err) ?? (timedOut ? `no answer within ${this.timeoutMs} ms` : describeError(err));
      return { ok: false, status: null, code: timedOut ? 'timeout' : 'network_error', message, attempts };
    }
  }

  private async attempt(
    input: PredictInput,
    attempts: number,
  ): Promise<{ result: Failure | PredictResult; retryable: boolean; retryAfterMs?: number }> {
    const form = new FormData();
    form.set(field('client_id'), this.options.clientId);
    if (input.sensorMm !== undefined && input.sensorMm !== null) form.set(field('sensor_value'), String(input.sensorMm));
    if (input.frameAgeMs !== undefined) form.set(field('frame_age_ms'), String(Math.max(0, Math.round(input.frameAgeMs))));
    form.set(field('image'), new Blob([new Uint8Array(input.jpeg)], { type: 'image/jpeg' }), 'frame.jpg');

    const sent = await this.post(form, attempts, input.idempotencyKey);
    if (!('response' in sent)) return { result: sent, retryable: true };
    const { response, text } = sent;

    const json = parseJson(text);
    if (response.status === 200) {
      const parsed = predictAnswerSchema.safeParse(json);
      if (parsed.success) {
        const body = parsed.data;
        return {
          result: {
            ok: true,
            status: 200,
            predictionMm: body.prediction_mm,
            deployment: body.deployment,
            model: body.model,
            requestId: body.request_id,
            attempts,
            ...(response.headers.get(IDEMPOTENT_REPLAYED_HEADER) === 'true' ? { replayed: true as const } : {}),
          },
          retryable: false,
        };
      }
      return {
        result: { ok: false, status: 200, code: 'bad_response', message: `unexpected success body: ${text.slice(0, 200)}`, attempts },
        retryable: false,
      };
    }

    const parsedError = errorBodySchema.safeParse(json);
    const code = parsedError.success ? parsedError.data.error.code : `http_${response.status}`;
    const message = parsedError.success ? parsedError.data.error.message : text.slice(0, 200) || response.statusText;
    // no_model: the API recorded the frame but has nothing to predict with; retrying would record it twice.
    const retryable = isRetryableFailure({ status: response.status, code });
    const retryAfterMs = retryable ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
    return { result: { ok: false, status: response.status, code, message, attempts }, retryable, retryAfterMs };
  }
}

/** A non-2xx answer as a Failure, with the API's error code when it sent one. */
function errorAnswer(response: Response, text: string): Failure {
  const parsed = errorBodySchema.safeParse(parseJson(text));
  return {
    ok: false,
    status: response.status,
    code: parsed.success ? parsed.data.error.code : `http_${response.status}`,
    message: parsed.success ? parsed.data.error.message : text.slice(0, 200) || response.statusText,
    attempts: 1,
  };
}

const badResponse = (text: string): Failure => ({
  ok: false,
  status: 200,
  code: 'bad_response',
  message: `unexpected success body: ${text.slice(0, 200)}`,
  attempts: 1,
});

const describeError = (err: unknown) =>
  err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);

/** `Retry-After` as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
