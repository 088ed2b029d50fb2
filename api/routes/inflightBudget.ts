/**
 * What /predict holds at once: frames (each costs a decode, a prediction and event-loop turns whatever its size)
 * and bytes of their bodies. A reservation that would exceed either is refused rather than queued.
 */
export class InflightBudget {
  private frames = 0;
  private bytes = 0;

  constructor(readonly limits: { maxFrames: number; maxBytes: number }) {}

  get reserved(): { frames: number; bytes: number } {
    return { frames: this.frames, bytes: this.bytes };
  }

  /** A release function, or undefined when one more frame of `bytes` does not fit. */
  reserve(bytes: number): (() => void) | undefined {
    if (this.frames + 1 > this.limits.maxFrames || this.bytes + bytes > this.limits.maxBytes) return undefined;
    this.frames++;
    this.bytes += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.frames--;
      this.bytes -= bytes;
    };
  }
}
