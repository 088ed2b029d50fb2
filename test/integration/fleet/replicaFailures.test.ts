import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeStores, openStores, type Stores } from '../../../core/stores/index.js';
import { FrameSpool } from '../../../ingest/frameSpool.js';
import { registerUntrainedVersion } from '../../support/apiHarness.js';
import { eventually } from '../../support/eventually.js';
import { Scrape } from '../../support/prometheus.js';
import {
  acknowledgedVsStored,
  createRovers,
  FleetDrive,
  sendFrame,
  sendUntilAcknowledged,
  laserReadingOf,
  type FleetRover,
  type SentFrame,
} from '../../support/fleetRovers.js';
import { productionUrls } from '../../support/productionServices.js';
import { SwitchableProxy } from '../../support/switchableProxy.js';
import { syntheticFrame } from '../../support/syntheticFrames.js';
import { dropS3Bucket, startTopology, topologyAvailable, type AppProcess, type Topology } from '../../support/topology.js';

/** How long a replica stopped with SIGTERM keeps storing its spool before it exits with what is left. */
const DRAIN_SECONDS = 15;

/** Entries of a spool folder not stored yet, read from a copy (opening a spool may cut a torn tail off). */
async function unstoredIn(dataDir: string): Promise<number> {
  const copy = await fs.mkdtemp(path.join(os.tmpdir(), 'spool-copy-'));
  try {
    await fs.cp(path.join(dataDir, 'spool'), copy, { recursive: true }).catch(() => undefined);
    const { spool, recovered } = await FrameSpool.open({ dir: copy, maxBytes: 2 ** 40 });
    await spool.close();
    return recovered.length;
  } finally {
    await fs.rm(copy, { recursive: true, force: true });
  }
}

const segmentFiles = async (dataDir: string) =>
  (await fs.readdir(path.join(dataDir, 'spool')).catch(() => [])).filter((f) => f.endsWith('.frames'));

/** The replica's own count of spooled frames not stored yet (its /metrics). */
async function spooledOn(api: AppProcess): Promise<number> {
  return (await Scrape.of(`${api.url}/metrics`)).value('api_spool_frames');
}

/**
 * API replicas behind HAProxy die: one killed with SIGKILL while rovers drive through the load balancer, one stopped
 * for good with SIGTERM (a scale-down) while its object store is unreachable. Rovers send each frame with an
 * Idempotency-Key and send again what was not acknowledged; every acknowledged frame must end up stored, once.
 * The object store is reached through a proxy the test can take down (the other stores stay up).
 */
describe.runIf(topologyAvailable())('API replicas killed and scaled down', () => {
  let topology: Topology;
  let stores: Stores;
  let objectsProxy: SwitchableProxy;
  let bucketUrl: URL;
  let rovers: FleetRover[];
  let jpeg: Buffer;
  let sensor = 0;
  const nextSensor = () => laserReadingOf(++sensor);

  beforeAll(async () => {
    const urls = productionUrls()!;
    const s3 = new URL(urls.objectsUrl);
    objectsProxy = new SwitchableProxy({ host: s3.hostname, port: Number(s3.port) });
    await objectsProxy.up();
    bucketUrl = new URL(urls.objectsUrl);
    bucketUrl.pathname = `/fleet-failures-${randomBytes(4).toString('hex')}`;
    const proxied = new URL(bucketUrl);
    proxied.port = String(objectsProxy.port);
    const started = Date.now();
    topology = await startTopology({
      name: 'replica-failures',
      env: {
        OBJECTS_URL: proxied.toString(),
        // A claim of a killed replica's request is taken over once older than the upload deadline plus 20 s.
        PREDICT_UPLOAD_TIMEOUT_SECONDS: '2',
        HTTP_HEADERS_TIMEOUT_SECONDS: '2',
        SHUTDOWN_DRAIN_SECONDS: String(DRAIN_SECONDS),
        REGISTRY_CACHE_TTL_MS: '500',
      },
    });
    console.log(`[replicas] topology ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // The test reads the object store directly, not through the proxy it takes down.
    stores = await openStores({
      registryUrl: topology.env.REGISTRY_URL,
      measurementsUrl: topology.env.MEASUREMENTS_URL,
      objectsUrl: bucketUrl.toString(),
    });
    await stores.registry.createDeployment({ id: 'fleet', modelName: 'distance', modelVersion: 'latest', strategy: 'direct' });
    await registerUntrainedVersion(stores, 'distance', 'run-replica-failures');
    rovers = await createRovers(stores, 'fleet', 4);
    jpeg = await syntheticFrame(120, 160, 120);
  });

  afterAll(async () => {
    await topology?.close();
    await objectsProxy?.down();
    if (stores) await closeStores(stores);
    if (bucketUrl) await dropS3Bucket(bucketUrl);
  });

  /** Every replica has the model loaded (from the object store): a frame it answers needs no store but its spool. */
  async function warmUp() {
    for (const api of topology.apis) {
      await eventually(
        async () => {
          const frame: SentFrame = { rover: rovers[0], sensor: nextSensor(), key: `warm-${sensor}-${Date.now()}`, attempts: [] };
          const answer = await sendFrame(api.url!, frame, jpeg);
          expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
    }
  }

  async function balancerSays(api: AppProcess, state: string) {
    await eventually(async () => expect((await topology.balancer.serverStates())[api.name]).toBe(state), { timeoutMs: 120_000 });
  }

  async function expectEveryFrameStoredOnce(frames: SentFrame[], label: string) {
    const unanswered = frames.filter((f) => !f.acknowledged).length;
    const resent = await sendUntilAcknowledged(topology.url, frames, jpeg);
    const result = await acknowledgedVsStored(stores, frames);
    console.log(
      `[replicas] ${label}: ${frames.length} frames sent, ${frames.length - unanswered} acknowledged while driving, ` +
        `${unanswered} sent again (${resent} attempts); acknowledged ${result.acknowledged}, stored ${result.stored}, ` +
        `stored twice ${result.duplicated.length}`,
    );
    expect(result.missing.map((f) => f.sensor)).toEqual([]);
    expect(result.duplicated.map((f) => f.sensor)).toEqual([]);
    expect(result.stored).toBe(frames.length);
  }

  it('loses no acknowledged frame of a replica killed mid-drive, once it restarts on its volume', async () => {
    await warmUp();
    const [killed] = topology.apis;
    const drive = new FleetDrive(topology.url, rovers, jpeg, nextSensor, 6);
    await drive.untilAcknowledged(60);
    // The object store slows to a halt for a moment: the replicas' spools hold frames answered but not stored.
    await objectsProxy.down();
    await eventually(async () => expect(await spooledOn(killed)).toBeGreaterThanOrEqual(20), { timeoutMs: 60_000 });
    const killedAt = Date.now();
    await killed.kill('SIGKILL');
    // The other replica takes the frames: HAProxy sends a request whose connection is refused to it.
    await drive.untilAcknowledged(60);
    await objectsProxy.up();
    await drive.untilAcknowledged(30);
    await drive.stop();
    const leftInSpool = await unstoredIn(killed.dataDir);
    console.log(
      `[replicas] kill -9: answers while driving ${JSON.stringify(drive.statusCounts())}; ` +
        `${leftInSpool} acknowledged frames in the killed replica's spool, not stored yet`,
    );

    await killed.start();
    console.log(`[replicas] kill -9: the killed replica ready again ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    await expectEveryFrameStoredOnce(drive.frames, 'kill -9');
    // Its spool holds no frame that is not stored (the segment it writes now stays while it runs).
    await eventually(async () => {
      expect(await spooledOn(killed)).toBe(0);
      expect(await unstoredIn(killed.dataDir)).toBe(0);
    });
  });

  it('drains its spool before it exits when stopped for good, while rovers keep driving', async () => {
    const [leaving] = topology.apis;
    await balancerSays(leaving, 'UP');
    await warmUp();
    const drive = new FleetDrive(topology.url, rovers, jpeg, nextSensor, 6);
    await drive.untilAcknowledged(40);
    // The object store becomes unreachable: frames are answered all the same and wait in the replicas' spools.
    await objectsProxy.down();
    const outageAt = Date.now();
    await drive.untilAcknowledged(100, 60_000);
    await eventually(async () => expect(await spooledOn(leaving)).toBeGreaterThanOrEqual(20), { timeoutMs: 60_000 });
    const spooled = await spooledOn(leaving);

    // Scale-down: SIGTERM while the store is still down; it comes back a few seconds later, within the grace.
    const stopping = leaving.stop();
    const stoppedAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    await objectsProxy.up();
    const code = await stopping;
    const drainSeconds = (Date.now() - stoppedAt) / 1000;
    await drive.untilAcknowledged(40);
    await drive.stop();
    console.log(
      `[replicas] scale-down: ${spooled} frames spooled on the leaving replica when stopped (object store down ` +
        `${((stoppedAt - outageAt) / 1000).toFixed(1)} s before, back 3 s after SIGTERM); exit ${code} after ` +
        `${drainSeconds.toFixed(1)} s; answers while driving ${JSON.stringify(drive.statusCounts())}`,
    );
    expect(code).toBe(0);
    expect(await segmentFiles(leaving.dataDir)).toEqual([]);
    expect(await unstoredIn(leaving.dataDir)).toBe(0);
    // Frames are answered while the object store is down: none refused for it, by the replicas or the load balancer.
    // A rover may see its upload cut (no answer, or HAProxy's 502) when HAProxy sends it on a kept-alive connection
    // the leaving replica closes at that moment; it sends the frame again. A 503 would be a refusal.
    const refused = drive.frames.filter((f) => f.attempts.some((a) => a !== 200 && a !== 'network' && a !== 502));
    expect(refused.map((f) => `${f.sensor}: ${f.attempts.join(',')}`)).toEqual([]);
    await expectEveryFrameStoredOnce(drive.frames, 'scale-down');
  });

  it(`keeps on its volume what it could not store within ${DRAIN_SECONDS} s of SIGTERM, stored once a replica starts on it`, async () => {
    const [leaving] = topology.apis;
    if (leaving.pid() === undefined) await leaving.start();
    await balancerSays(leaving, 'UP');
    await warmUp();
    const drive = new FleetDrive(topology.url, rovers, jpeg, nextSensor, 6);
    await drive.untilAcknowledged(20);
    await objectsProxy.down();
    await eventually(async () => expect(await spooledOn(leaving)).toBeGreaterThanOrEqual(20), { timeoutMs: 60_000 });
    await drive.stop();

    const stoppedAt = Date.now();
    const code = await leaving.stop();
    const stopSeconds = (Date.now() - stoppedAt) / 1000;
    const left = await unstoredIn(leaving.dataDir);
    console.log(
      `[replicas] scale-down with the object store down past the grace (${DRAIN_SECONDS} s): exit ${code} after ` +
        `${stopSeconds.toFixed(1)} s, ${left} acknowledged frames left in its spool`,
    );
    expect(code).toBe(1);
    expect(left).toBeGreaterThanOrEqual(20);
    expect(leaving.log()).toMatch(new RegExp(`${left} acknowledged frames? (is|are) left in the spool`));

    // The frames are on the volume: a replica started on it stores them.
    await objectsProxy.up();
    await leaving.start();
    await expectEveryFrameStoredOnce(drive.frames, 'store down past the grace, then restarted');
    await eventually(async () => {
      expect(await spooledOn(leaving)).toBe(0);
      expect(await unstoredIn(leaving.dataDir)).toBe(0);
    });
  });
});
