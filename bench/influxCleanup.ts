import { parseInfluxUrl } from '../core/stores/influx/influxLocation.js';

/** Removes a benchmark's points from the shared InfluxDB with the v2 delete API: points of `measurement` matching `tag` (e.g. `model="x"`) in the range. */
export async function deleteInfluxPoints(
  url: string,
  range: { start: number; stop: number },
  tag: string,
  measurement = 'inference',
): Promise<void> {
  const where = parseInfluxUrl(url);
  const response = await fetch(
    `${where.url}/api/v2/delete?org=${encodeURIComponent(where.org)}&bucket=${encodeURIComponent(where.bucket)}`,
    {
      method: 'POST',
      headers: { Authorization: `Token ${where.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        start: new Date(range.start).toISOString(),
        stop: new Date(range.stop).toISOString(),
        predicate: `_measurement="${measurement}" AND ${tag}`,
      }),
    },
  );
  if (!response.ok) throw new Error(`InfluxDB delete of the benchmark's points failed: ${response.status} ${await response.text()}`);
}
