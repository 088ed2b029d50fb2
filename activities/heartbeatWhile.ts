import { Context } from '@temporalio/activity';

const ALIVE_HEARTBEAT_MS = 10_000;

/**
 * Runs a long step (an ML child process) while heartbeating every 10 s with the latest
 * details, so the server notices a dead worker within its heartbeat timeout (30 s), not hours.
 */
export async function heartbeatWhile<T>(step: (report: (details: unknown) => void) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  let last = ctx.info.heartbeatDetails as unknown;
  const alive = setInterval(() => ctx.heartbeat(last), ALIVE_HEARTBEAT_MS);
  try {
    return await step((details) => {
      last = details;
      ctx.heartbeat(details);
    });
  } finally {
    clearInterval(alive);
  }
}
