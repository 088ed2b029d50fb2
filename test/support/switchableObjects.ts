import type { ObjectStore } from '../../core/stores/objects.js';

/** An object store whose every call can be made to fail, to play a store going down mid-run, or made read-only. */
export class SwitchableObjects implements ObjectStore {
  down = false;
  readOnly = false;
  constructor(private readonly inner: ObjectStore) {}
  private check() {
    if (this.down) throw new Error('object store unavailable (simulated outage)');
  }
  private checkWritable() {
    this.check();
    if (this.readOnly) throw Object.assign(new Error('EROFS: read-only file system (simulated)'), { code: 'EROFS' });
  }
  async put(key: string, data: Buffer) {
    this.checkWritable();
    return this.inner.put(key, data);
  }
  async get(key: string) {
    this.check();
    return this.inner.get(key);
  }
  async exists(key: string) {
    this.check();
    return this.inner.exists(key);
  }
  async list(prefix: string) {
    this.check();
    return this.inner.list(prefix);
  }
  async delete(key: string) {
    this.checkWritable();
    return this.inner.delete(key);
  }
  async close() {}
}
