import fs from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort as apiFreePort } from '../support/apiProcess.js';
import { freePort as temporalFreePort } from '../support/temporalEnv.js';

// A port handed to a process that binds it later (and again after a restart) must not be one the kernel can give
// an outgoing connection in between: CI saw api-2 of the fleet topology fail with "already in use" when a port from
// listen(0), in the ephemeral range, was taken by a worker's connection before the API bound it.
const [ephemeralLow, ephemeralHigh] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);

describe("the test topology's free ports", () => {
  it.each([
    ['apiProcess', apiFreePort],
    ['temporalEnv', temporalFreePort],
  ])('%s gives bindable ports outside the ephemeral range', async (_, freePort) => {
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port < ephemeralLow || port > ephemeralHigh, `${port} in ${ephemeralLow}-${ephemeralHigh}`).toBe(true);
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
