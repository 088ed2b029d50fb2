import type { ObjectStore } from '../../core/stores/objects.js';

/** An object store whose every call can be made to fail, to play a store going down mid-run. */
export class SwitchableObjects implements ObjectStore {
  down = false;
  constructor(private readonly inner: ObjectStore) {}
  private check() {
    if (this.down) throw new Error('object store unavailable (simulated outage)');
  }
  async put(key: string, data: Buffer) {
    this.check();
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
    this.check();
    return this.inner.delete(key);
  }
  async close() {}
}
