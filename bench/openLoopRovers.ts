/**
 * Simulated rovers that send at a fixed rate whatever the API does (open loop): rover i sends its k-th frame
 * at start + k x period (the rovers spread over one period), without waiting for the answers before it. The
 * frames are the recorded ones with their laser readings, taken in turn.
 */
import type { EdgeFrame } from '../edge/parkingRun.js';
import { roverClientSender, type FrameAnswer, type FrameSender } from './frameSender.js';
import type { RoverIdentity } from './roverReplay.js';

export interface SentFrame {
  clientId: string;
  /** Epoch ms the frame was sent. */
  sentAt: number;
  latencyMs: number;
  /** The version that answered, or the error code. */
  answer: FrameAnswer;
}

export interface OpenLoopDrive {
  /** Stops sending and resolves once every frame sent has its answer (or its timeout). */
  stop(): Promise<SentFrame[]>;
  sentSoFar(): SentFrame[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function driveOpenLoop(options: {
  apiUrl: string;
  rovers: RoverIdentity[];
  frames: EdgeFrame[];
  periodMs: number;
  /** A rover gives up on an answer after this (default 60 s). */
  timeoutMs?: number;
  /** How the frames go out (default: the edge's RoverClient). */
  sender?: FrameSender;
}): OpenLoopDrive {
  const { rovers, frames, periodMs } = options;
  const sender = options.sender ?? roverClientSender({ apiUrl: options.apiUrl, frames, timeoutMs: options.timeoutMs ?? 60_000 });
  const sent: SentFrame[] = [];
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  let next = 0;
  const started = Date.now();

  const roverLoop = async (rover: RoverIdentity, index: number) => {
    for (let k = 0; ; k++) {
      const due = started + (index * periodMs) / rovers.length + k * periodMs;
      await sleep(Math.max(0, due - Date.now()));
      if (stopped) return;
      const frame = next++ % frames.length;
      const sentAt = Date.now();
      const request = sender.send(rover, frame).then((answer) => {
        sent.push({ clientId: rover.clientId, sentAt, latencyMs: Date.now() - sentAt, answer });
      });
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    }
  };
  const loops = Promise.all(rovers.map(roverLoop));

  return {
    async stop() {
      stopped = true;
      await loops;
      await Promise.all([...inFlight]);
      return sent.sort((a, b) => a.sentAt - b.sentAt);
    },
    sentSoFar: () => sent,
  };
}
