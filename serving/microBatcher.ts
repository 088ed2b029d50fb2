export interface MicroBatchSettings {
  /** A batch runs as soon as it holds this many items. */
  maxItems: number;
  /** ... or this long after its first item arrived; 0 runs it once the event loop has taken in what already arrived. */
  windowMs: number;
  /**
   * Batches running at once (default: no bound). With 1, items arriving while a batch runs wait for it and run
   * together in the next one, however long the window: fewer, fuller calls when the model is the bottleneck.
   */
  maxInFlight?: number;
  /**
   * With it, the window opens only while items come close together: when the item before a batch's first one came
   * less than this long before it. Otherwise the batch runs as with a window of 0, so a lone sender's item never
   * waits for batch mates that are not coming, while at a fleet's rate a batch gathers several.
   */
  denseGapMs?: number;
}

/** Told the size of each batch as it runs (the API's metrics). */
export type BatchObserver = (items: number) => void;

/** An output that fails its own item only (a frame the model could not read), not its batch mates. */
export class ItemFailure {
  constructor(readonly error: unknown) {}
}

interface Waiting<I, O> {
  item: I;
  resolve(out: O): void;
  reject(err: unknown): void;
}

/**
 * Gathers items submitted close together into one call of `run`, and answers each with its own output. A failing
 * call fails the items of its batch only; an `ItemFailure` output fails its item only. Under load the window rarely
 * matters: items arriving while a batch runs (the event loop or the model is busy) join the next one.
 */
export class MicroBatcher<I, O> {
  private waiting: Waiting<I, O>[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private running = 0;
  /** The window of the waiting items closed while the batches in flight were at their bound. */
  private due = false;
  private lastSubmit = -Infinity;
  readonly counters = { batches: 0, items: 0, largest: 0 };

  constructor(
    private readonly run: (items: I[]) => Promise<(O | ItemFailure)[]>,
    private readonly settings: MicroBatchSettings,
    private readonly observe?: BatchObserver,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      const now = performance.now();
      const gap = now - this.lastSubmit;
      this.lastSubmit = now;
      if (this.waiting.length >= this.settings.maxItems) this.flush();
      else if (!this.timer && !this.due) {
        const { windowMs, denseGapMs } = this.settings;
        const hold = windowMs > 0 && (denseGapMs === undefined || gap < denseGapMs);
        this.timer = hold ? setTimeout(() => this.flush(), windowMs) : setImmediate(() => this.flush());
      }
    });
  }

  /** Items waiting for their batch to run. */
  get waitingItems(): number {
    return this.waiting.length;
  }

  /** Runs the waiting items now (or once a batch in flight ends, at its bound), when the caller knows no more are coming soon. */
  flush() {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    if (this.waiting.length === 0) return;
    if (this.running >= (this.settings.maxInFlight ?? Infinity)) {
      this.due = true;
      return;
    }
    const batch = this.waiting.splice(0, this.settings.maxItems);
    // Items beyond a full batch have waited through one already: they run as soon as the bound allows.
    this.due = this.waiting.length > 0;
    this.counters.batches++;
    this.counters.items += batch.length;
    this.counters.largest = Math.max(this.counters.largest, batch.length);
    this.observe?.(batch.length);
    this.running++;
    Promise.resolve()
      .then(() => this.run(batch.map((w) => w.item)))
      .then((outs) => {
        if (outs.length !== batch.length) throw new Error(`a batch of ${batch.length} gave ${outs.length} results`);
        batch.forEach((w, i) => {
          const out = outs[i];
          if (out instanceof ItemFailure) w.reject(out.error);
          else w.resolve(out);
        });
      })
      .catch((err: unknown) => batch.forEach((w) => w.reject(err)))
      .finally(() => {
        this.running--;
        if (this.due || this.waiting.length >= this.settings.maxItems) this.flush();
      });
  }
}
