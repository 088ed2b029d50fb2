import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Tmpfs {
  dir: string;
  /** Fills every free byte with `file` (it grows until the filesystem answers ENOSPC). */
  fill(file: string): void;
  unmount(): void;
}

/**
 * A real, small tmpfs on a temp folder: a filesystem that fills up as a disk does (ENOSPC, short
 * writes). Mounting needs root (CI runs tests as root); a test that cannot mount fails, it is never skipped.
 */
export function mountTmpfs(bytes: number, prefix = 'mlops-tmpfs-'): Tmpfs {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    fs.rmdirSync(dir);
    const reason = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    throw new Error(`this test mounts a small tmpfs to fill it and needs root (or CAP_SYS_ADMIN): mount failed: ${reason}`, { cause: err });
  }
  return {
    dir,
    fill(file) {
      const fd = fs.openSync(file, 'a');
      try {
        for (const chunk of [1 << 20, 1 << 16, 1 << 12, 1 << 9, 1]) {
          const block = Buffer.alloc(chunk, 0x5a);
          for (;;) {
            try {
              if (fs.writeSync(fd, block) < chunk) break;
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw err;
            }
          }
        }
      } finally {
        fs.closeSync(fd);
      }
    },
    unmount() {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        // Something still holds a file open: detach now, the kernel frees it once the last file closes.
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      }
      fs.rmdirSync(dir);
    },
  };
}
