import type { InputSize } from './imagePixels.js';
import { ObjectNotFoundError, type ObjectStore } from '../stores/objects.js';
import { mapLimit } from '../mapLimit.js';
import { sha256 } from './dataset.js';

/**
 * The cache of preprocessed frames, content-addressed in the object store so a retrain decodes only the frames it has
 * not seen. Frames live in immutable packs (concatenated uint8 RGB frames of one size), each with the list of the
 * image keys it holds, named by the sha256 of both; one index per preprocessing version and size lists the packs:
 *
 *   preprocessed/v<version>/<W>x<H>/index.json
 *   preprocessed/v<version>/<W>x<H>/packs/<name>.u8         frames
 *   preprocessed/v<version>/<W>x<H>/packs/<name>.keys.json  image keys, in pack order
 *
 * A pack is never rewritten: new frames go into new packs, then the index is replaced. A new preprocessing version
 * looks under its own prefix and so finds nothing of the old one (which stays, unread).
 */
export const PREPROCESSED_INDEX_FORMAT = 'mlops-preprocessed-index/v1';

/** Packs stay well below Node's largest Buffer and bound what a trial reads for a few frames. */
export const MAX_PACK_BYTES = 32 * 1024 * 1024;

export interface PackRef {
  key: string;
  sha256: string;
  keysKey: string;
  keysSha256: string;
  count: number;
}

interface PackIndex {
  format: typeof PREPROCESSED_INDEX_FORMAT;
  version: number;
  width: number;
  height: number;
  packs: PackRef[];
}

/** Where a cached frame is: the pack and its position in it. */
export interface FrameLocation {
  pack: PackRef;
  index: number;
}

/** Why cached frames could not be used (their frames are decoded again). */
export type CacheFault = 'pack_missing' | 'pack_corrupt' | 'pack_keys_unreadable';

export function preprocessedKeys(version: number, size: InputSize) {
  const prefix = `preprocessed/v${version}/${size.width}x${size.height}`;
  return {
    index: `${prefix}/index.json`,
    pack: (digest: string) => `${prefix}/packs/${digest}.u8`,
    packKeys: (digest: string) => `${prefix}/packs/${digest}.keys.json`,
  };
}

/** Bytes the cache read and wrote, for the run's result and the benchmark. */
export interface CacheTraffic {
  bytesRead: number;
  bytesWritten: number;
}

export class PreprocessedFrames {
  readonly traffic: CacheTraffic = { bytesRead: 0, bytesWritten: 0 };
  private readonly keys;
  readonly frameBytes: number;

  constructor(
    private readonly objects: ObjectStore,
    readonly size: InputSize,
    readonly version: number,
  ) {
    this.keys = preprocessedKeys(version, size);
    this.frameBytes = size.width * size.height * 3;
  }

  /** The packs of the index (none when there is no index yet, or it cannot be read: frames are then decoded again). */
  async packs(): Promise<PackRef[]> {
    let body: Buffer;
    try {
      body = await this.objects.get(this.keys.index);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return [];
      throw err;
    }
    this.traffic.bytesRead += body.byteLength;
    try {
      const index = JSON.parse(body.toString('utf8')) as PackIndex;
      return index.format === PREPROCESSED_INDEX_FORMAT && Array.isArray(index.packs) ? index.packs : [];
    } catch {
      return [];
    }
  }

  /**
   * Where each cached frame is, from the packs' key lists (no pixels are read). A key in several packs is found in the
   * newest. Packs whose key list is missing or does not match its digest are left out and reported.
   */
  async locate(packs: PackRef[]): Promise<{ locations: Map<string, FrameLocation>; unreadable: PackRef[] }> {
    const lists = await mapLimit(packs, 8, async (pack) => {
      try {
        const body = await this.objects.get(pack.keysKey);
        this.traffic.bytesRead += body.byteLength;
        if (sha256(body) !== pack.keysSha256) return undefined;
        const keys = JSON.parse(body.toString('utf8')) as string[];
        return Array.isArray(keys) && keys.length === pack.count ? keys : undefined;
      } catch (err) {
        if (err instanceof ObjectNotFoundError || err instanceof SyntaxError) return undefined;
        throw err;
      }
    });
    const locations = new Map<string, FrameLocation>();
    const unreadable: PackRef[] = [];
    packs.forEach((pack, p) => {
      const keys = lists[p];
      if (!keys) unreadable.push(pack);
      else keys.forEach((imageKey, index) => locations.set(imageKey, { pack, index }));
    });
    return { locations, unreadable };
  }

  /** A pack's frames, or why they cannot be used: bytes that do not match the pack's digest are never returned. */
  async readPack(pack: PackRef): Promise<Buffer | Exclude<CacheFault, 'pack_keys_unreadable'>> {
    let body: Buffer;
    try {
      body = await this.objects.get(pack.key);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return 'pack_missing';
      throw err;
    }
    this.traffic.bytesRead += body.byteLength;
    if (body.byteLength !== pack.count * this.frameBytes || sha256(body) !== pack.sha256) return 'pack_corrupt';
    return body;
  }

  /** Most frames in one pack. */
  get framesPerPack(): number {
    return Math.max(1, Math.floor(MAX_PACK_BYTES / this.frameBytes));
  }

  /** Stores frames (at most `framesPerPack`) as a new pack; the index lists it once `addToIndex` is called. */
  async writePack(frames: { imageKey: string; pixels: Uint8Array }[]): Promise<PackRef> {
    const pixels = Buffer.alloc(frames.length * this.frameBytes);
    frames.forEach((f, i) => pixels.set(f.pixels, i * this.frameBytes));
    const keysBody = Buffer.from(JSON.stringify(frames.map((f) => f.imageKey)));
    const pixelsSha256 = sha256(pixels);
    const keysSha256 = sha256(keysBody);
    // Named by frames and keys together: two packs of different frames may hold the same pixels (a dark camera).
    const name = sha256(`${keysSha256}:${pixelsSha256}`);
    const pack: PackRef = {
      key: this.keys.pack(name),
      sha256: pixelsSha256,
      keysKey: this.keys.packKeys(name),
      keysSha256,
      count: frames.length,
    };
    await this.objects.put(pack.keysKey, keysBody, 'application/json');
    await this.objects.put(pack.key, pixels, 'application/octet-stream');
    this.traffic.bytesWritten += keysBody.byteLength + pixels.byteLength;
    return pack;
  }

  /** Lists new packs in the index, and leaves out packs found faulty. */
  async addToIndex(added: PackRef[], faulty: PackRef[] = []): Promise<void> {
    if (added.length === 0 && faulty.length === 0) return;
    // Read again just before writing: packs another run added meanwhile stay listed (two runs writing at the very
    // same moment: one run's packs drop out of the index and their frames are decoded again later; datasets still name them).
    const leftOut = new Set([...faulty, ...added].map((p) => p.key));
    const kept = (await this.packs()).filter((p) => !leftOut.has(p.key));
    const index: PackIndex = { format: PREPROCESSED_INDEX_FORMAT, version: this.version, ...this.size, packs: [...kept, ...added] };
    const body = Buffer.from(JSON.stringify(index));
    await this.objects.put(this.keys.index, body, 'application/json');
    this.traffic.bytesWritten += body.byteLength;
  }
}
