/**
 * What /predict holds at once: frames (each costs a decode, a prediction and event-loop turns whatever its size)
 * and bytes of their bodies, with each client's frames bounded by its share, so that one client's uploads (slow or
 * many) never take every slot. A reservation that would exceed either is refused rather than queued.
 */
export class InflightBudget {
  private frames = 0;
  private bytes = 0;
  private readonly framesByClient = new Map<string, number>();

  constructor(readonly limits: { maxFrames: number; maxBytes: number; clientMaxFrames: number }) {}

  get reserved(): { frames: number; bytes: number } {
    return { frames: this.frames, bytes: this.bytes };
  }

  /** Whether `client` holds as many frames as one client may. */
  holdsShare(client: string): boolean {
    return (this.framesByClient.get(client) ?? 0) >= this.limits.clientMaxFrames;
  }

  /** A release function, or undefined when one more frame of `bytes` does not fit (in the budget or the client's share). */
  reserve(bytes: number, client: string): (() => void) | undefined {
    if (this.frames + 1 > this.limits.maxFrames || this.bytes + bytes > this.limits.maxBytes || this.holdsShare(client)) return undefined;
    this.frames++;
    this.bytes += bytes;
    this.framesByClient.set(client, (this.framesByClient.get(client) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.frames--;
      this.bytes -= bytes;
      const held = this.framesByClient.get(client)! - 1;
      if (held === 0) this.framesByClient.delete(client);
      else this.framesByClient.set(client, held);
    };
  }
}
