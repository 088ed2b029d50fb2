/**
 * Writes Grafana's provisioning files and dashboards from the TypeScript in grafana/src.
 *   tsx grafana/src/generate.ts           write grafana/provisioning/** and grafana/dashboards/*.json
 *   tsx grafana/src/generate.ts --check   write nothing; exit 1 listing every file that is not what it would write
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLine, runCommand } from '../../core/commandLine.js';
import { findStaleFiles, renderProvisioningFiles } from './provisioningFiles.js';

const GRAFANA_DIR = fileURLToPath(new URL('..', import.meta.url));

const USAGE = `usage: npm run grafana [-- --check]

Writes Grafana's provisioning files and dashboards (grafana/provisioning/**, grafana/dashboards/*.json) from the
TypeScript in grafana/src, and removes generated files that are no longer generated.

  --check      write nothing; exit 1 listing every file that is not what it would write
  -h, --help   this text

examples:
  npm run grafana
  npm run grafana:check        (the same as npm run grafana -- --check)`;

async function main(): Promise<number> {
  const { values } = parseCommandLine(process.argv.slice(2), { check: { type: 'boolean', default: false } });
  const files = renderProvisioningFiles();
  const stale = await findStaleFiles(GRAFANA_DIR, files);

  if (values.check) {
    if (stale.length > 0) {
      console.error(
        `Grafana provisioning is stale; run \`npm run grafana\`:\n${stale.map((s) => `  grafana/${s.path} (${s.problem})`).join('\n')}`,
      );
      return 1;
    }
    console.log(`Grafana provisioning is current (${files.size} files).`);
    return 0;
  }
  for (const { path: file, problem } of stale) {
    const target = path.join(GRAFANA_DIR, file);
    if (problem === 'not generated') {
      await rm(target);
    } else {
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, files.get(file)!);
    }
    console.log(`${problem === 'not generated' ? 'removed' : 'wrote'} grafana/${file}`);
  }
  console.log(`${stale.length} of ${files.size} files changed.`);
  return 0;
}

runCommand(USAGE, main);
