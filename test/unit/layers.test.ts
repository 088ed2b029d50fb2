import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { IConfiguration } from 'dependency-cruiser';

const REPO = path.resolve(import.meta.dirname, '../..');
const CONFIG = path.join(REPO, '.dependency-cruiser.mjs');
const layers = (await import(CONFIG)) as { default: IConfiguration };
const SOURCES = [
  'api',
  'console',
  'control',
  'serving',
  'ingest',
  'core',
  'activities',
  'workflows',
  'workers',
  'edge',
  'grafana',
  'deploy',
  'scripts',
  'bench',
];

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

/** The layer rules' violations in `dirs` of `cwd`, as `npm run lint:layers` finds them: one per rule and import. */
async function violations(cwd: string, dirs: string[]): Promise<Violation[]> {
  const cli = path.join(REPO, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
  const args = [cli, '--config', CONFIG, '--output-type', 'json', ...dirs];
  // The json reporter exits non-zero on errors; the report is on stdout either way.
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd, maxBuffer: 64 << 20 }).catch((err) => err);
  const { modules } = JSON.parse(stdout) as {
    modules: { source: string; dependencies: { resolved: string; rules?: { name: string }[] }[] }[];
  };
  return modules.flatMap((m) => m.dependencies.flatMap((d) => (d.rules ?? []).map((rule) => ({ from: m.source, to: d.resolved, rule }))));
}

const fixtures: string[] = [];
afterAll(() => fixtures.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

describe('the layers (.dependency-cruiser.mjs)', () => {
  it('hold in this repository: no circle, no arrow up', async () => {
    expect(await violations(REPO, SOURCES)).toEqual([]);
  }, 180_000);

  it('each rule fails on a deliberately wrong import', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layers-'));
    fixtures.push(dir);
    // node_modules as a worktree has it: a link (the rules see the path through it).
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
    );
    const files: Record<string, string> = {
      'api/errors.ts': `export const status = 404;`,
      'core/domain.ts': `import { status } from '../api/errors.js';\nexport const x = status;`,
      'core/a.ts': `import { b } from './b.js';\nexport const a = () => b;`,
      'core/b.ts': `import { a } from './a.js';\nexport const b = () => a;`,
      'control/retrains.ts': `import express from 'express';\nimport { serve } from '../serving/model.js';\nexport const r = [express, serve];`,
      'serving/model.ts': `import { retrain } from '../control/decide.js';\nexport const serve = retrain;`,
      'control/decide.ts': `export const retrain = 1;`,
      'activities/step.ts': `import { wiring } from '../workers/wiring.js';\nexport const step = wiring;\nexport type Step = typeof step;`,
      'workers/wiring.ts': `export const wiring = 1;`,
      'workflows/w/workflow.ts': `import type { Step } from '../../activities/step.js';\nimport { retrain } from '../../control/decide.js';\nexport const w = (s: Step) => [s, retrain];`,
      'workflows/w/contract.ts': `import { step } from '../../activities/step.js';\nexport const c = step;`,
      'contracts/http/answer.ts': `import { retrain } from '../../control/decide.js';\nexport const answer = retrain;`,
      'edge/rover.ts': `import { c } from '../workflows/w/contract.js';\nexport const rover = c;`,
      'console/src/page.tsx': `import { retrain } from '../../control/decide.js';\nimport { answer } from '../../contracts/http/answer.js';\nexport const page = [retrain, answer];`,
      'console/src/typed.ts': `import type { answer } from '../../contracts/http/answer.js';\nexport type Typed = typeof answer;`,
      'api/serveConsole.ts': `import { page } from '../console/src/page.js';\nexport const served = page;`,
      'core/stores/s3/s3Objects.ts': `export const s3 = 1;`,
      'core/stores/influx/influxMeasurements.ts': `export const influx = 1;`,
      'core/stores/index.ts': `import { s3 } from './s3/s3Objects.js';\nexport const open = async () => [s3, (await import('./influx/influxMeasurements.js')).influx];`,
    };
    for (const [file, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    }
    const found = await violations(dir, [
      'api',
      'console',
      'contracts',
      'core',
      'control',
      'serving',
      'activities',
      'workers',
      'workflows',
      'edge',
    ]);
    const pairs = found.map((v) => `${v.rule.name}: ${v.from} -> ${v.to.replace(/^node_modules\/(\w+)\/.*/, '$1')}`);
    expect(pairs).toEqual(
      expect.arrayContaining([
        'core-is-the-bottom: core/domain.ts -> api/errors.ts',
        'nothing-below-api-imports-api: core/domain.ts -> api/errors.ts',
        'control-speaks-no-http: control/retrains.ts -> express',
        'control-speaks-no-http: control/retrains.ts -> serving/model.ts',
        'serving-and-ingest-below-control: serving/model.ts -> control/decide.ts',
        'activities-are-plain-functions: activities/step.ts -> workers/wiring.ts',
        'workflows-import-contracts-and-pure-core: workflows/w/workflow.ts -> control/decide.ts',
        'contracts-are-leaves: workflows/w/contract.ts -> activities/step.ts',
        'edge-is-the-rover: edge/rover.ts -> workflows/w/contract.ts',
        'wire-contracts-are-leaves: contracts/http/answer.ts -> control/decide.ts',
        'console-is-a-browser-app: console/src/page.tsx -> control/decide.ts',
        'console-knows-the-wire-by-its-types: console/src/page.tsx -> contracts/http/answer.ts',
        'nothing-imports-the-console: api/serveConsole.ts -> console/src/page.tsx',
        'store-clients-load-when-named: core/stores/index.ts -> core/stores/s3/s3Objects.ts',
      ]),
    );
    expect(pairs.some((p) => p.startsWith('no-circular: core/a.ts') || p.startsWith('no-circular: core/b.ts'))).toBe(true);
    expect(pairs).not.toContain('console-knows-the-wire-by-its-types: console/src/typed.ts -> contracts/http/answer.ts');
    // A workflow may know its activities by their types (proxyActivities), as the Temporal samples do.
    expect(pairs).not.toContain('workflows-import-contracts-and-pure-core: workflows/w/workflow.ts -> activities/step.ts');
    // A store client imported when its URL names it (a dynamic import) is not on the heap of a server that never does.
    expect(pairs).not.toContain('store-clients-load-when-named: core/stores/index.ts -> core/stores/influx/influxMeasurements.ts');
    expect(new Set(found.map((v) => v.rule.name))).toEqual(new Set(layers.default.forbidden!.map((rule) => rule.name)));
  }, 180_000);
});
