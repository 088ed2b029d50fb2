/**
 * Retries an assertion until it holds or the deadline passes (then throws its last error): for
 * reads that are eventually consistent (Temporal visibility, a worker that has not seen a signal yet).
 */
export async function eventually<T>(fn: () => Promise<T> | T, { timeoutMs = 20_000, intervalMs = 100 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
