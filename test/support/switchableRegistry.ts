import type { RegistryStore } from '../../core/stores/registry.js';

/** A registry whose every call fails like a MySQL server that refuses connections while `down` is set. */
export function switchableRegistry(inner: RegistryStore): { registry: RegistryStore; setDown(down: boolean): void; calls: () => number } {
  let down = false;
  let calls = 0;
  const registry = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        calls++;
        if (down)
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:13306'), {
            code: 'ECONNREFUSED',
            errno: -111,
            syscall: 'connect',
            address: '127.0.0.1',
            port: 13306,
          });
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return { registry, setDown: (d) => (down = d), calls: () => calls };
}
