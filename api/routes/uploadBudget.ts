/** Bytes of request bodies the API holds at once: a reservation is refused rather than exceed them. */
export class UploadBudget {
  private used = 0;

  constructor(readonly maxBytes: number) {}

  get reservedBytes(): number {
    return this.used;
  }

  /** A release function, or undefined when the reservation does not fit. */
  reserve(bytes: number): (() => void) | undefined {
    if (this.used + bytes > this.maxBytes) return undefined;
    this.used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
    };
  }
}
