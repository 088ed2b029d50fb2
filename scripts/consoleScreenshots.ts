/**
 * Screenshots of every console page at 1400x900, from a running system (the demo's, or npm run console:world):
 *   API_URL=http://127.0.0.1:3000 ADMIN_TOKEN=... npx tsx scripts/consoleScreenshots.ts [--out docs/console] [--width 1400]
 * The deployment shown (and its drift) is the one rovers drove last, compared with the one before; the rollout is the
 * first running one on a deployment with rovers, else that deployment's last. The model
 * is its model, the version that model's newest. Time series show the last 15 minutes (--range: 15m, 1h, 6h, 24h).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { OperatorError, parseCommandLine, runCommand } from '../core/commandLine.js';
import { launchChromium, settled, signInAs } from './chromium.js';

const USAGE = `usage: npx tsx scripts/consoleScreenshots.ts [--out DIR] [--width PX] [--height PX] [--range 15m|1h|6h|24h]

Signs in to the console of a running API with the admin token and saves a PNG of every page into DIR
(docs/console by default), at 1400x900 unless told otherwise.

environment: API_URL (default http://127.0.0.1:$API_PORT, API_PORT default 3000), ADMIN_TOKEN`;

async function main() {
  const { values } = parseCommandLine(process.argv.slice(2), {
    out: { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
    range: { type: 'string' },
  });
  const apiUrl = process.env.API_URL ?? `http://127.0.0.1:${process.env.API_PORT ?? 3000}`;
  const token = process.env.ADMIN_TOKEN ?? 'dev-admin-token';
  const out = values.out ?? 'docs/console';
  const viewport = { width: Number(values.width ?? 1400), height: Number(values.height ?? 900) };
  const get = async (route: string) => {
    const res = await fetch(`${apiUrl}${route}`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new OperatorError(`GET ${route}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const listed = (await get('/fleet')).deployments as {
    id: string;
    modelName: string;
    lastFrameAt: string | null;
    rollout: unknown;
    rovers: string[];
  }[];
  if (listed.length === 0) throw new OperatorError('no deployments: run the demo (or npm run console:world) first');
  // The deployments rovers drove last are the ones with the most to show: the demo's last phase, then the one before.
  const fleet = [...listed].sort((a, b) => Date.parse(b.lastFrameAt ?? '0') - Date.parse(a.lastFrameAt ?? '0'));
  const [first, second] = fleet;
  // A running rollout shows its live evidence; without one, the last deployment's finished rollout.
  const rolledOut = fleet.find((d) => d.rollout && d.rovers.length > 0) ?? first;
  const model = first.modelName;
  const versions = (await get(`/models/${model}/versions`)).versions as { version: number }[];
  const range = values.range ?? '15m';
  const pages: [string, string][] = [
    ['fleet', '#/fleet'],
    ['deployment', `#/deployments/${first.id}?range=${range}`],
    ...(second ? ([['compare', `#/compare/${first.id}/${second.id}?range=${range}`]] as [string, string][]) : []),
    ['drift', `#/drift?deployment=${first.id}`],
    ['rollouts', '#/rollouts'],
    ['rollout', `#/rollouts/${rolledOut.id}`],
    ['models', '#/models'],
    ['model', `#/models/${model}`],
    ...(versions.length
      ? ([['version', `#/models/${model}/versions/${Math.max(...versions.map((v) => v.version))}`]] as [string, string][])
      : []),
    ['retrains', `#/models/${model}/retrains`],
    ['admin', '#/admin'],
  ];

  mkdirSync(out, { recursive: true });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport });
    await signInAs(page, `${apiUrl}/console/`, token);
    for (const [name, hash] of pages) {
      await page.goto(`${apiUrl}/console/${hash}`);
      await settled(page);
      const file = path.join(out, `${name}.png`);
      await page.screenshot({ path: file });
      console.log(`[screenshots] ${file}`);
    }
  } finally {
    await browser.close();
  }
}

runCommand(USAGE, main);
