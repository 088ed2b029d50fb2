/** Runs tasks one at a time per key, in the order they asked; tasks of different keys run side by side. */
export class KeyedTurns {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let finished!: () => void;
    const mine = new Promise<void>((resolve) => (finished = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      finished();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
