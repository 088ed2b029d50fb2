/** The object store contract (S3-like keys with `/` separators). */
export interface ObjectStore {
  put(key: string, data: Buffer, contentType?: string): Promise<void>;
  /** Throws an ObjectNotFoundError when the key does not exist. */
  get(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  readonly code = 'not_found';
  constructor(readonly key: string) {
    super(`object "${key}" does not exist`);
    this.name = 'ObjectNotFoundError';
  }
}

const KEY_PATTERN = /^[A-Za-z0-9._=-]+(\/[A-Za-z0-9._=-]+)*$/;

/** Rejects keys that could escape a folder or confuse S3 (`..`, empty segments, odd characters). */
export function assertValidKey(key: string): void {
  if (!KEY_PATTERN.test(key) || key.split('/').some((s) => s === '.' || s === '..')) {
    throw new Error(`invalid object key "${key}"`);
  }
}
