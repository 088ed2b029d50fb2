import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the checkpoint thread copies each file's committed WAL pages into the database file. */
export const CHECKPOINT_EVERY_MS = 1000;

/**
 * WAL pages (4 KiB each) past which a writing connection checkpoints by itself after all, on its own thread: only
 * when the checkpoint thread has fallen this far behind (it failed, or a reader held the WAL that long).
 */
export const FALLBACK_CHECKPOINT_PAGES = 10_000;

interface Connection {
  readonly name: string;
  readonly memory: boolean;
  pragma(s: string): unknown;
}

type Message = { add: number; file: string; everyMs: number } | { remove: number };

// The thread needs the same driver the connections use; an eval'd thread resolves modules from the cwd, so it is given the path.
const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3');

const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const files = new Map();
function checkpoint(entry) {
  try {
    entry.db ??= new Database(entry.file, { fileMustExist: true });
    entry.db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // The file is gone or locked: try again at the next tick (the writers' fallback bounds the WAL meanwhile).
    try { entry.db?.close(); } catch {}
    entry.db = undefined;
  }
}
parentPort.on('message', (m) => {
  if ('add' in m) {
    const entry = { file: m.file, db: undefined };
    entry.timer = setInterval(() => checkpoint(entry), m.everyMs);
    files.set(m.add, entry);
  } else {
    const entry = files.get(m.remove);
    if (!entry) return;
    files.delete(m.remove);
    clearInterval(entry.timer);
    try { entry.db?.close(); } catch {}
  }
});
`;

let thread: Worker | undefined;
let registered = 0;
let nextId = 1;

function send(message: Message) {
  if (!thread) {
    const started = new Worker(THREAD_SOURCE, { eval: true, workerData: { driver: DRIVER } });
    // A thread with files to checkpoint keeps no process alive (a closed API, a test's end).
    started.unref();
    // Gone, its files are checkpointed by their writers' fallback; connections opened later start a new thread.
    const gone = () => {
      if (thread === started) thread = undefined;
    };
    started.on('error', gone);
    started.on('exit', gone);
    thread = started;
  }
  thread.postMessage(message);
}

/**
 * SQLite checkpoints a WAL database from the connection whose commit takes the WAL past 1000 pages, inside that
 * commit: two fsyncs on the thread that committed. better-sqlite3 commits on the event loop, so at 128 frames/s the
 * API's loop stopped about once a second for two fsyncs of about 3 ms each on a quiet disk, longer on a busy one
 * (bench/README, "Issue 26, seventh stop"). Connections of this client leave checkpoints to one thread of the process
 * with a connection of its own (as SQLite documents: automatic checkpoints held back, checkpoints run elsewhere),
 * which runs a PASSIVE checkpoint of each file every `everyMs`; a writer checkpoints by itself only past
 * FALLBACK_CHECKPOINT_PAGES.
 */
export function withBackgroundCheckpoints<C extends new (...args: any[]) => SqliteClient>(Client: C, everyMs = CHECKPOINT_EVERY_MS) {
  const ids = new WeakMap<Connection, number>();
  return class extends Client {
    override async acquireRawConnection(): Promise<Connection> {
      const connection = await super.acquireRawConnection();
      if (connection.memory) return connection;
      connection.pragma(`wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`);
      const id = nextId++;
      ids.set(connection, id);
      registered++;
      send({ add: id, file: connection.name, everyMs });
      return connection;
    }

    override async destroyRawConnection(connection: Connection): Promise<void> {
      const id = ids.get(connection);
      if (id !== undefined) {
        ids.delete(connection);
        registered--;
        if (registered > 0) thread?.postMessage({ remove: id } satisfies Message);
        else if (thread) {
          const last = thread;
          thread = undefined;
          void last.terminate();
        }
      }
      return super.destroyRawConnection(connection);
    }
  };
}

interface SqliteClient {
  acquireRawConnection(): Promise<Connection>;
  destroyRawConnection(connection: Connection): Promise<void>;
}
