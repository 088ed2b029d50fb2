/**
 * The busy machine, reproducibly: `BENCH_BUSY=<n>` runs n processes that each burn one core's worth of CPU at
 * normal priority for the whole bench, so a run can be compared with a quiet one on the same machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface BusyMachine {
  count: number;
  stop(): void;
}

export function startBusyProcesses(count: number): BusyMachine {
  const children: ChildProcess[] = Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  const stop = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  // Not left burning if the bench dies.
  process.once('exit', stop);
  return { count, stop };
}
