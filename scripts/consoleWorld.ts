/**
 * The console's world (test/support/consoleWorld.ts) for developers and screenshots: built, then kept running with
 * its rovers driving slowly until Ctrl-C, which stops every process it started.
 */
import { readFileSync } from 'node:fs';
import { parseCommandLine, runCommand, UsageError } from '../core/commandLine.js';
import { HALL, startConsoleWorld, YARD } from '../test/support/consoleWorld.js';

const USAGE = readFileSync(new URL('consoleWorld-usage.txt', import.meta.url), 'utf8').trimEnd();

runCommand(USAGE, async () => {
  parseCommandLine(process.argv.slice(2), {});
  const framesPerSecond = Number(process.env.CONSOLE_WORLD_FPS ?? 1);
  if (!(framesPerSecond > 0 && framesPerSecond <= 50))
    throw new UsageError(
      `CONSOLE_WORLD_FPS must be a number of frames per second above 0, at most 50 (not "${process.env.CONSOLE_WORLD_FPS}")`,
    );
  console.log('[console-world] building: Temporal dev server, API and workers, then v1, a drift on yard, v2 and a rollout on hall');
  const world = await startConsoleWorld({ log: (line) => console.log(`[console-world] ${line}`) });
  const stopDrives = [YARD, HALL].map((deployment) => world.drive(deployment, { framesPerSecond }));
  const total = world.timings.find(([label]) => label === 'total')?.[1] ?? 0;
  console.log(`
  Built in ${total.toFixed(0)} s. Rovers on ${YARD} and ${HALL} drive at ${framesPerSecond} frame(s)/s each.
  Console      ${world.consoleUrl}
  Admin token  ${world.adminToken}
  API          ${world.apiUrl}
  Temporal     ${world.temporalAddress}
  Data         ${world.dataDir} (removed at the end)
  Ctrl-C stops everything.
`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('[console-world] stopping');
  await Promise.all(stopDrives.map((stop) => stop()));
  await world.stop();
});
