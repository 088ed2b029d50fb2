/**
 * Runs `check` until it stops throwing, then returns its value; after `seconds` fails with what was awaited and the
 * last error. For code that runs outside vitest as well (scripts/consoleWorld.ts), where eventually.ts's vi.waitFor
 * cannot: the same rule, a deadline in seconds and never a count of tries.
 */
export async function within<T>(seconds: number, what: string, check: () => T | Promise<T>, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s: ${(err as Error).message}`, { cause: err });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
