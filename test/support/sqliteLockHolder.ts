import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs in the child: takes SQLite's write lock on the file with a write of its own, holds it, lets go. */
const HOLDER = `
const Database = require('better-sqlite3');
const [file, holdMs, end] = process.argv.slice(1);
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.exec('BEGIN EXCLUSIVE');
db.exec('CREATE TABLE IF NOT EXISTS lock_holder (at INTEGER)');
db.prepare('INSERT INTO lock_holder VALUES (?)').run(Date.now());
process.stdout.write('locked\\n');
setTimeout(() => {
  db.exec(end === 'commit' ? 'COMMIT' : 'ROLLBACK');
  db.close();
  process.stdout.write('released\\n');
}, Number(holdMs));
`;

export interface SqliteLock {
  /** Resolves once the other process holds the lock. */
  locked: Promise<void>;
  /** Resolves once it let go and exited. */
  released: Promise<void>;
  kill(): void;
}

/**
 * Another process (node with better-sqlite3) holding the write lock of a SQLite file for `holdMs`, as a stuck writer
 * would, then ending its transaction with a rollback or a commit of its write.
 */
export function holdSqliteLock(file: string, holdMs: number, end: 'rollback' | 'commit' = 'rollback'): SqliteLock {
  const child = spawn(process.execPath, ['-e', HOLDER, file, String(holdMs), end], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const locked = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('locked\n')) resolve();
    });
    void exited.then(() => reject(new Error(`the lock holder exited before locking:\n${output}`)));
  });
  locked.catch(() => undefined);
  const released = exited.then((code) => {
    if (code !== 0) throw new Error(`the lock holder exited with ${code}:\n${output}`);
  });
  released.catch(() => undefined);
  return { locked, released, kill: () => child.kill('SIGKILL') };
}
