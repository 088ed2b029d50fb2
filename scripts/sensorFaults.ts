/**
 * Suspect lasers from a shell, through the API (GET /sensor-faults, POST /sensor-faults/:id/clear):
 *   npm run sensor-faults -- list [--deployment ID] [--client ID] [--all]
 *   npm run sensor-faults -- clear ID --reason "lens cleaned"
 * API_URL (default http://127.0.0.1:$API_PORT) and ADMIN_TOKEN reach the API.
 */
import { parseCommandLine, runCommand, UsageError } from '../core/commandLine.js';
import { apiClient, type Wire } from './apiClient.js';
import type { SensorFault } from '../core/stores/registry.js';

const USAGE = `usage: npm run sensor-faults -- list [--deployment ID] [--client ID] [--all]
       npm run sensor-faults -- clear ID --reason TEXT

Suspect lasers the drift monitor flagged: their frames leave training sets, drift checks and rollout evidence
until they are cleared (by hand here, or by themselves once their readings are healthy for the stated time).

  list                 open faults, newest first (--all: cleared ones too)
  clear ID             clear fault ID by hand; --reason says why the laser can be trusted again
  --deployment ID      only this deployment's rovers
  --client ID          only this rover
  --reason TEXT        required by clear
  -h, --help           this text

environment: API_URL (default http://127.0.0.1:$API_PORT, API_PORT default 3000), ADMIN_TOKEN (the API's admin token)

examples:
  npm run sensor-faults -- list --deployment green
  npm run sensor-faults -- clear 3 --reason "lens cleaned"`;

const line = (f: Wire<SensorFault>) =>
  `${f.id}\t${f.client}\t${f.deployment}\t${f.kinds.join(',')}\tsince ${f.since}\t` +
  (f.clearedAt ? `cleared ${f.clearedAt} by ${f.clearedBy}: ${f.clearReason}` : 'OPEN') +
  `\t${f.summary}`;

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine(
    process.argv.slice(2),
    { deployment: { type: 'string' }, client: { type: 'string' }, all: { type: 'boolean' }, reason: { type: 'string' } },
    { positionals: true },
  );
  const [command, id, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
  const apiUrl = process.env.API_URL ?? `http://127.0.0.1:${process.env.API_PORT ?? 3000}`;
  const api = apiClient(apiUrl, process.env.ADMIN_TOKEN ?? 'dev-admin-token');
  if (command === 'list') {
    if (id !== undefined) throw new UsageError(`list takes no id, got ${id}`);
    const query = new URLSearchParams();
    if (values.deployment) query.set('deployment', values.deployment);
    if (values.client) query.set('client', values.client);
    if (!values.all) query.set('open', 'true');
    const { faults } = await api('GET', `/sensor-faults?${query}`);
    if (faults.length === 0) console.log(values.all ? 'no sensor faults' : 'no open sensor faults');
    for (const fault of faults) console.log(line(fault));
    return 0;
  }
  if (command === 'clear') {
    if (id === undefined || !/^[1-9]\d*$/.test(id)) throw new UsageError(`clear needs a fault id (1, 2, ...), got ${id ?? 'none'}`);
    if (!values.reason?.trim()) throw new UsageError('clear needs --reason');
    const { fault } = await api('POST', `/sensor-faults/${id}/clear`, { by: process.env.USER ?? 'cli', reason: values.reason });
    console.log(line(fault));
    return 0;
  }
  throw new UsageError(command === undefined ? 'a command is required: list or clear' : `unknown command ${command} (list or clear)`);
}

runCommand(USAGE, main);
