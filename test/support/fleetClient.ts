/** Calls of the replicated topology's tests: admin calls and rover frames, each to one replica's own URL. */
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../core/config.js';
import { openStores, type Stores } from '../../core/stores/index.js';

export interface AdminCall {
  status: number;
  body: any;
}

/** An admin call to one replica (its URL), with the topology's admin token. */
export async function adminOn(url: string, token: string, method: string, route: string, body?: unknown): Promise<AdminCall> {
  const res = await fetch(url + route, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

/** What /predict answered one frame: the deployment and version that answered it. */
export interface FrameAnswer {
  status: number;
  deployment?: string;
  modelName?: string;
  version?: number;
  body: any;
}

/** One rover frame (a JPEG and a laser reading) to one replica's /predict. */
export async function sendFrame(url: string, token: string, jpeg: Buffer, sensorValue?: number): Promise<FrameAnswer> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
  if (sensorValue !== undefined) form.append('sensor_value', String(sensorValue));
  const res = await fetch(`${url}/predict`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  const body = await res.json();
  return { status: res.status, deployment: body.deployment, modelName: body.model?.name, version: body.model?.version, body };
}

/** The topology's stores, opened in the test process as a worker opens them (to register versions, read records). */
export async function openTopologyStores(env: Record<string, string>): Promise<Stores> {
  const config = loadConfig({ ...process.env, ...env });
  return openStores(config);
}

/** A Temporal client on the topology's server and namespace. */
export async function topologyTemporal(env: Record<string, string>): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE ?? 'default' });
  return { client, close: () => connection.close() };
}
