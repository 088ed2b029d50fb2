/**
 * Peak memory of long-running processes (API, worker, Temporal) and of the short-lived
 * processes they fork (training trials), read from /proc: VmHWM is the kernel's own
 * high-water mark of a process's resident set; the sum over a process tree is sampled.
 */
import fs from 'node:fs/promises';

const KIB_PER_MIB = 1024;

async function readStatus(pid: number): Promise<{ hwmKiB: number; rssKiB: number } | undefined> {
  try {
    const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const memory = { hwmKiB: kib('VmHWM'), rssKiB: kib('VmRSS') };
    // A zombie (exited, not yet reaped) has no memory lines.
    return Number.isFinite(memory.hwmKiB) && Number.isFinite(memory.rssKiB) ? memory : undefined;
  } catch {
    return undefined; // exited between listing and reading
  }
}

async function commandLine(pid: number): Promise<string> {
  try {
    return (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Parent pid of every process (this kernel has no /proc/<pid>/task/<tid>/children). */
async function parentPids(): Promise<Map<number, number>> {
  const parents = new Map<number, number>();
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // The process exited while being read: it has no parent any more.
    }
  }
  return parents;
}

function descendantsOf(root: number, parents: Map<number, number>): number[] {
  const found: number[] = [];
  const frontier = [root];
  while (frontier.length) {
    const parent = frontier.pop()!;
    for (const [pid, ppid] of parents) {
      if (ppid === parent) {
        found.push(pid);
        frontier.push(pid);
      }
    }
  }
  return found;
}

export interface MemoryPeaks {
  /** VmHWM of the process itself. */
  processMiB: number;
  /** Largest VmHWM seen among its descendants whose command line matches the watch's pattern (e.g. one training trial); 0 without any. */
  largestDescendantMiB: number;
  /** Largest sum of VmRSS of the process and its descendants at one sample. */
  treeMiB: number;
  descendantsSeen: number;
}

interface Watched {
  pid: number;
  descendantPattern?: RegExp;
  hwmKiB: number;
  descendantHwmKiB: Map<number, number>;
  treeKiB: number;
}

export class ProcessMemorySampler {
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();

  constructor(private readonly intervalMs = 200) {}

  /** `descendantPattern` picks the descendants (by command line) whose peak is reported on its own. */
  watch(name: string, pid: number, descendantPattern?: RegExp): void {
    this.watched.set(name, { pid, descendantPattern, hwmKiB: 0, descendantHwmKiB: new Map(), treeKiB: 0 });
    this.timer ??= setInterval(() => {
      this.sampling = this.sampling.then(() => this.sample());
    }, this.intervalMs);
  }

  /** Samples now and returns the peaks so far (VmHWM never goes down, so a later call sees at least as much). */
  async peaks(): Promise<Record<string, MemoryPeaks>> {
    await (this.sampling = this.sampling.then(() => this.sample()));
    const out: Record<string, MemoryPeaks> = {};
    for (const [name, w] of this.watched) {
      out[name] = {
        processMiB: w.hwmKiB / KIB_PER_MIB,
        largestDescendantMiB: Math.max(0, ...w.descendantHwmKiB.values()) / KIB_PER_MIB,
        treeMiB: w.treeKiB / KIB_PER_MIB,
        descendantsSeen: w.descendantHwmKiB.size,
      };
    }
    return out;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async sample(): Promise<void> {
    const parents = await parentPids();
    for (const w of this.watched.values()) {
      const own = await readStatus(w.pid);
      if (!own) continue;
      w.hwmKiB = Math.max(w.hwmKiB, own.hwmKiB);
      let tree = own.rssKiB;
      for (const pid of descendantsOf(w.pid, parents)) {
        const status = await readStatus(pid);
        if (!status) continue;
        tree += status.rssKiB;
        if (w.descendantPattern && !w.descendantPattern.test(await commandLine(pid))) continue;
        w.descendantHwmKiB.set(pid, Math.max(w.descendantHwmKiB.get(pid) ?? 0, status.hwmKiB));
      }
      w.treeKiB = Math.max(w.treeKiB, tree);
    }
  }
}
