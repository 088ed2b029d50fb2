/**
 * What the API's request handling costs around the model: one server process per rung of bench/requestOverheadServer.ts
 * (node:http alone, then Express, the API's middleware, multer, authentication, the header check, each added to the
 * one before), the same frames sent to each by the bench's rovers, and each server's own CPU time per request
 * (process.cpuUsage: every thread of it). The rungs take turns over a few rounds, so a busy spell of the machine is
 * spread over all of them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EdgeFrame } from '../edge/parkingRun.js';
import { tsxLoader } from './forkJob.js';
import { frameSender } from './frameSender.js';
import { fixed, markdownTable } from './markdownTable.js';

/** The rungs of bench/requestOverheadServer.ts (its RUNG is the index). */
export const REQUEST_RUNGS = [
  'node:http: read the body, answer a fixed JSON',
  '+ Express: routing and res.json',
  "+ the access log line (the API's accessLog, pino, to a file)",
  "+ the rest of the API's middleware in front of every route: request metrics (prom-client), /metrics router, JSON body check",
  "+ multipart parse (multer, /predict's limits, memory storage)",
  "+ rover authentication and its deployment's lookup (token hash, RegistryLookups from its cache, constant-time comparison)",
  '+ image header check (checkFrame)',
] as const;

export const BENCH_TOKEN = 'bench-overhead-token-0123456789';
export const BENCH_CLIENT = 'bench-overhead-rover';
export interface RungCost {
  rung: string;
  requests: number;
  /** The server's CPU per request, ms (user + system, every thread). */
  cpuMsPerRequest: number;
}

export interface RequestOverheadResults {
  rungs: RungCost[];
  concurrency: number;
  rounds: number;
  loadAverage: { start: number[]; end: number[] };
}

export const WARM_UP_REQUESTS = 100;
const serverEntry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'requestOverheadServer.ts');

interface RungServer {
  child: ChildProcess;
  url: string;
  cpuMs(): Promise<number>;
}

function startServer(rung: number, logFile: string): Promise<RungServer> {
  const log = fs.openSync(logFile, 'a');
  const child = fork(serverEntry, [], {
    execArgv: ['--import', tsxLoader],
    env: { ...process.env, RUNG: String(rung) },
    stdio: ['ignore', log, 'inherit', 'ipc'],
  });
  fs.closeSync(log);
  const reply = <T>(key: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (!(key in message)) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message[key] as T);
      };
      const onExit = (code: number | null) => reject(new Error(`request overhead server (rung ${rung}) exited with ${code}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  return reply<number>('port').then((port) => ({
    child,
    url: `http://127.0.0.1:${port}`,
    async cpuMs() {
      const answer = reply<NodeJS.CpuUsage>('cpu');
      child.send('cpu');
      const { user, system } = await answer;
      return (user + system) / 1000;
    },
  }));
}

export async function benchmarkRequestOverhead(
  options: { requests: number; concurrency: number; rounds: number },
  frames: EdgeFrame[],
  log: (line: string) => void,
): Promise<RequestOverheadResults> {
  const loadStart = os.loadavg();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-overhead-'));
  const servers: RungServer[] = [];
  try {
    for (let rung = 0; rung < REQUEST_RUNGS.length; rung++) servers.push(await startServer(rung, path.join(dir, `rung-${rung}.log`)));
    const senders = await Promise.all(servers.map((s) => frameSender({ apiUrl: s.url, frames, timeoutMs: 10_000 })));
    const rover = { clientId: BENCH_CLIENT, token: BENCH_TOKEN };
    let next = 0;
    const send = async (rung: number, count: number) => {
      const failures: string[] = [];
      await Promise.all(
        Array.from({ length: options.concurrency }, async (_, lane) => {
          for (let k = lane; k < count; k += options.concurrency) {
            const answer = await senders[rung].send(rover, next++);
            if ('error' in answer) failures.push(`${answer.status} ${answer.error}`);
          }
        }),
      );
      if (failures.length) throw new Error(`request overhead, rung ${rung}: ${failures.length} failed, e.g. ${failures[0]}`);
    };
    for (let rung = 0; rung < servers.length; rung++) await send(rung, WARM_UP_REQUESTS);
    const cpuMs = servers.map(() => 0);
    const perRound = Math.ceil(options.requests / options.rounds);
    for (let round = 0; round < options.rounds; round++) {
      log(`request overhead: round ${round + 1} of ${options.rounds}, ${perRound} requests per rung`);
      for (let rung = 0; rung < servers.length; rung++) {
        const before = await servers[rung].cpuMs();
        await send(rung, perRound);
        cpuMs[rung] += (await servers[rung].cpuMs()) - before;
      }
    }
    for (const sender of senders) sender.close();
    return {
      rungs: REQUEST_RUNGS.map((rung, i) => ({
        rung,
        requests: perRound * options.rounds,
        cpuMsPerRequest: cpuMs[i] / (perRound * options.rounds),
      })),
      concurrency: options.concurrency,
      rounds: options.rounds,
      loadAverage: { start: loadStart, end: os.loadavg() },
    };
  } finally {
    for (const server of servers) server.child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function requestOverheadTable(results: RequestOverheadResults): string {
  return markdownTable(
    ['server (each rung adds to the one above)', 'requests', 'server CPU per request', 'added by this rung'],
    results.rungs.map((r, i) => [
      r.rung,
      String(r.requests),
      `${fixed(r.cpuMsPerRequest, 3)} ms`,
      i === 0 ? '-' : `${fixed(r.cpuMsPerRequest - results.rungs[i - 1].cpuMsPerRequest, 3)} ms`,
    ]),
  );
}
