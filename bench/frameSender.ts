/**
 * The bench's rovers as cheap as they can be, since they share the machine's cores with the API they measure:
 * each frame's multipart body is built once, before any level, and sent as bytes over node:http with keep-alive
 * connections; no FormData, fetch or answer schema per frame. `BENCH_ROVER_CLIENT=rover-client` sends through the
 * edge's RoverClient instead (fetch, a FormData per frame), as a real rover does, for the before figure.
 */
import http from 'node:http';
import type { EdgeFrame } from '../edge/parkingRun.js';
import { RoverClient } from '../edge/roverClient.js';
import type { RoverIdentity } from './roverReplay.js';

/** The version that answered, or the error code (`timeout`, `network_error`, or the API's) and its HTTP status. */
export type FrameAnswer = { version: number } | { error: string; status: number | null };

export interface FrameSender {
  send(rover: RoverIdentity, frame: number): Promise<FrameAnswer>;
  close(): void;
}

export type RoverClientKind = 'http' | 'rover-client';

interface PreparedBody {
  body: Buffer;
  contentType: string;
}

/** The multipart body RoverClient sends, without the client id (the `x-client-id` header carries it). */
export async function multipartBody(frame: EdgeFrame, fields: { clientId?: string } = {}): Promise<PreparedBody> {
  const form = new FormData();
  if (fields.clientId !== undefined) form.set('client_id', fields.clientId);
  if (frame.sensorMm !== null) form.set('sensor_value', String(frame.sensorMm));
  form.set('image', new Blob([new Uint8Array(frame.jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
  const request = new Request('http://localhost/predict', { method: 'POST', body: form });
  return { body: Buffer.from(await request.arrayBuffer()), contentType: request.headers.get('content-type')! };
}

/** Frames sent by index into `frames` through the edge's RoverClient (a FormData and a fetch per frame). */
export function roverClientSender(options: { apiUrl: string; frames: EdgeFrame[]; timeoutMs: number }): FrameSender {
  const { frames, timeoutMs } = options;
  const clients = new Map<string, RoverClient>();
  const clientOf = (rover: RoverIdentity) => {
    let client = clients.get(rover.clientId);
    if (!client) {
      // A refused frame is counted as refused, not sent again on top of the fixed rate.
      client = new RoverClient({ ...rover, apiUrl: options.apiUrl, retries: 0, retryAfterBudgetMs: 0, timeoutMs });
      clients.set(rover.clientId, client);
    }
    return client;
  };
  return {
    async send(rover, index) {
      const frame = frames[index % frames.length];
      const result = await clientOf(rover).predict({ jpeg: frame.jpeg, sensorMm: frame.sensorMm });
      return result.ok ? { version: result.model.version } : { error: result.code, status: result.status };
    },
    close() {},
  };
}

/** Frames sent by index into `frames`, with at most `timeoutMs` for each answer. */
export async function frameSender(options: {
  apiUrl: string;
  frames: EdgeFrame[];
  timeoutMs: number;
  kind?: RoverClientKind;
}): Promise<FrameSender> {
  if (options.kind === 'rover-client') return roverClientSender(options);
  const { frames, timeoutMs } = options;
  const bodies = await Promise.all(frames.map((frame) => multipartBody(frame)));
  const url = new URL('/predict', options.apiUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  return {
    send(rover, index) {
      const { body, contentType } = bodies[index % bodies.length];
      return new Promise<FrameAnswer>((resolve) => {
        let settled = false;
        const settle = (answer: FrameAnswer) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(answer);
        };
        const request = http.request(
          url,
          {
            method: 'POST',
            agent,
            headers: {
              authorization: `Bearer ${rover.token}`,
              'x-client-id': rover.clientId,
              'content-type': contentType,
              'content-length': body.length,
            },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('error', () => settle({ error: 'network_error', status: null }));
            response.on('end', () => settle(answerOf(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
          },
        );
        const timer = setTimeout(() => {
          settle({ error: 'timeout', status: null });
          request.destroy();
        }, timeoutMs);
        request.on('error', () => settle({ error: 'network_error', status: null }));
        request.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

function answerOf(status: number, text: string): FrameAnswer {
  try {
    const parsed = JSON.parse(text) as { model?: { version?: unknown }; error?: { code?: unknown } };
    if (status === 200 && typeof parsed.model?.version === 'number') return { version: parsed.model.version };
    if (typeof parsed.error?.code === 'string') return { error: parsed.error.code, status };
  } catch {
    // Not JSON: counted as a bad answer below.
  }
  return { error: 'bad_response', status };
}
