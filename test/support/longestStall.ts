const TICK_MS = 5;

/**
 * Watches this thread's event loop with a 5 ms timer: `stop()` ends the watch and gives the longest time a tick came
 * late (ms), i.e. the longest stall while it ran.
 */
export function watchLongestStall(): { stop(): number } {
  let last = performance.now();
  let longest = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last - TICK_MS);
    last = now;
  }, TICK_MS);
  return {
    stop() {
      clearInterval(ticker);
      return longest;
    },
  };
}
