import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export const DEFAULT_OVERLOAD_DELAY_MS = 200;

/**
 * How late the event loop runs: a request waits about that long in front of every step it takes (accepting its
 * socket, parsing it, each await), before /predict's in-flight budget ever counts it. While the loop has been late
 * by more than `maxDelayMs` for two samples in a row (the median of each, so that one long pause such as a model
 * load does not count), new frames are better refused at once than queued behind the ones it cannot keep up with.
 */
export class EventLoopPressure {
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private lastTwo: [number, number] = [0, 0];

  constructor(
    readonly maxDelayMs: number,
    sampleMs = 250,
  ) {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    this.timer = setInterval(() => this.sample(), sampleMs);
    this.timer.unref();
  }

  /** How late the event loop ran over the last two samples (the smaller of their medians), in ms. */
  get delayMs(): number {
    return Math.min(...this.lastTwo);
  }

  get overloaded(): boolean {
    return this.delayMs > this.maxDelayMs;
  }

  close() {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private sample() {
    // The histogram holds how much later than every 10 ms its own timer fired.
    const median = this.histogram.count > 0 ? this.histogram.percentile(50) / 1e6 : 0;
    this.lastTwo = [this.lastTwo[1], median];
    this.histogram.reset();
  }
}
