export interface MicroBatchSettings {
  /** A batch runs as soon as it holds this many items. */
  maxItems: number;
  /** ... or this long after its first item arrived; 0 runs it once the event loop has taken in what already arrived. */
  windowMs: number;
}

/** Told the size of each batch as it runs (the API's metrics). */
export type BatchObserver = (items: number) => void;

interface Waiting<I, O> {
  item: I;
  resolve(out: O): void;
  reject(err: unknown): void;
}

/**
 * Gathers items submitted close together into one call of `run`, and answers each with its own output. A failing
 * call fails the items of its batch only. Under load the window rarely matters: items arriving while a batch runs
 * (the event loop is busy) join the next one.
 */
export class MicroBatcher<I, O> {
  private waiting: Waiting<I, O>[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  readonly counters = { batches: 0, items: 0, largest: 0 };

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly settings: MicroBatchSettings,
    private readonly observe?: BatchObserver,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.waiting.length >= this.settings.maxItems) this.flush();
      else if (!this.timer)
        this.timer = this.settings.windowMs > 0 ? setTimeout(() => this.flush(), this.settings.windowMs) : setImmediate(() => this.flush());
    });
  }

  /** Items waiting for their batch to run. */
  get waitingItems(): number {
    return this.waiting.length;
  }

  /** Runs the waiting items now, when the caller knows no more are coming soon. */
  flush() {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    this.counters.batches++;
    this.counters.items += batch.length;
    this.counters.largest = Math.max(this.counters.largest, batch.length);
    this.observe?.(batch.length);
    Promise.resolve()
      .then(() => this.run(batch.map((w) => w.item)))
      .then((outs) => {
        if (outs.length !== batch.length) throw new Error(`a batch of ${batch.length} gave ${outs.length} results`);
        batch.forEach((w, i) => w.resolve(outs[i]));
      })
      .catch((err: unknown) => batch.forEach((w) => w.reject(err)));
  }
}
