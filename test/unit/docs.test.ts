import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createApp, type AppDeps } from '../../api/app.js';
import { loadConfig } from '../../core/config.js';

/*
 * Keeps README.md and docs/ honest, cheaply: every `npm run X` they name exists, every repo path they name
 * exists, every relative link (and its #anchor) resolves, and docs/API.md names exactly the routes the app's
 * router has. Each check is a function returning its problems and is also run once on a line broken on purpose.
 * Commands a test cannot run (the demo, training runs, the tour) were run by hand; the issue note says which.
 */

const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => fs.readFileSync(path.join(REPO_DIR, file), 'utf8');
const DOCS = ['README.md', ...fs.readdirSync(path.join(REPO_DIR, 'docs')).map((f) => `docs/${f}`)].filter((f) => f.endsWith('.md'));

/** Files of the repo (tracked, or new and not ignored), and the folders that hold them. */
const TRACKED = (() => {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: REPO_DIR, encoding: 'utf8' })
    .split('\n')
    .filter((file) => file && fs.existsSync(path.join(REPO_DIR, file)));
  const entries = new Set(files);
  for (const file of files) for (let i = file.indexOf('/'); i > 0; i = file.indexOf('/', i + 1)) entries.add(file.slice(0, i));
  return entries;
})();
const tracked = (p: string) => TRACKED.has(p.replace(/\/+$/, ''));
const TOP_LEVEL = new Set([...TRACKED].map((p) => p.split('/')[0]!));

/**
 * Paths of the layers restructure (issue 21) that the docs already name, with where the code is until it lands.
 * Once a target exists this test fails: delete its entry.
 */
const MOVING: Record<string, string> = {};
/** Pages other parts of issue 21 add, linked already. Once one exists this test fails: delete its entry. */
const PENDING_FILES = new Set<string>();
/** Written by a run, not tracked. */
const GENERATED = new Set(['bench/results/']);

/** Routes other parts of issue 21 add, documented already. Once one exists this test fails: delete its entry. */
const PENDING_ROUTES: string[] = [];

type Doc = { file: string; text: string };
const docs: Doc[] = DOCS.map((file) => ({ file, text: read(file) }));

/** Prose without fenced code blocks (for links), and every inline code span. */
const withoutFences = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '');
const codeSpans = (text: string) => [...withoutFences(text).matchAll(/`([^`\n]+)`/g)].map(([, span]) => span!);

// --- npm run X ---

function unknownNpmScripts(doc: Doc, scripts: Record<string, string>): string[] {
  return [...doc.text.matchAll(/\bnpm run ([a-z][\w:-]*[\w-])/g)]
    .map(([, name]) => name!)
    .filter((name) => !(name in scripts))
    .map((name) => `${doc.file}: npm run ${name} is not a script of package.json`);
}

// --- repo paths ---

/** The lines of each fenced code block, paired fence by fence. */
function fencedBlocks(text: string): string[][] {
  const blocks: string[][] = [];
  let block: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) {
      if (block) blocks.push(block);
      block = block ? undefined : [];
    } else block?.push(line);
  }
  return blocks;
}

/** The folders a layout block describes: a fenced line that starts with `name/` and then its description. */
const layoutFolders = (text: string) =>
  fencedBlocks(text).flatMap((lines) => lines.flatMap((line) => /^([\w.-]+\/)\s{2,}\S/.exec(line)?.[1] ?? []));

function missingPaths(doc: Doc, moved = MOVING): string[] {
  const problems: string[] = [];
  for (const folder of layoutFolders(doc.text)) {
    if (!tracked(folder) && !(folder in moved)) problems.push(`${doc.file}: the layout names ${folder}, which does not exist`);
  }
  for (const span of codeSpans(doc.text)) {
    if (!/^\.?[\w-]+(\.[\w-]+)*(\/[\w.-]+)*\/?$/.test(span) || !span.includes('/')) continue;
    if (!TOP_LEVEL.has(span.split('/')[0]!) && !(span in moved)) continue;
    if (GENERATED.has(span)) continue;
    if (span in moved) {
      if (tracked(span)) problems.push(`${doc.file}: ${span} exists now: delete it from MOVING in test/unit/docs.test.ts`);
      else if (!tracked(moved[span]!)) problems.push(`${doc.file}: ${span} (now ${moved[span]}) does not exist`);
    } else if (!tracked(span)) problems.push(`${doc.file}: ${span} does not exist`);
  }
  return problems;
}

// --- relative links and anchors ---

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = heading!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*_]/g, (c) => (c === '_' ? '_' : ''));
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

function brokenLinks(doc: Doc, readFile = (file: string) => read(file), pending = PENDING_FILES): string[] {
  const problems: string[] = [];
  for (const file of pending)
    if (tracked(file)) problems.push(`${file} exists now: delete it from PENDING_FILES in test/unit/docs.test.ts`);
  for (const [, target] of withoutFences(doc.text).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target!)) continue;
    const [file, anchor] = target!.split('#') as [string, string | undefined];
    const resolved = file ? path.posix.normalize(path.posix.join(path.posix.dirname(doc.file), file)) : doc.file;
    if (pending.has(resolved) && !tracked(resolved)) continue;
    if (!tracked(resolved) && !(resolved in MOVING)) {
      problems.push(`${doc.file}: link ${target} -> ${resolved} does not exist`);
      continue;
    }
    if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(readFile(resolved)).has(anchor))
      problems.push(`${doc.file}: link ${target}: ${resolved} has no heading #${anchor}`);
  }
  return problems;
}

// --- API routes ---

type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };

/** `METHOD /path` of every route the Express app serves, walking its router and the routers mounted in it. */
function routesOf(stack: Layer[]): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) return Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path}`);
    return layer.handle?.stack ? routesOf(layer.handle.stack) : [];
  });
}

/** The app as api/server.ts builds it, with stores and Temporal that nothing calls: only its routes are read. */
function appRoutes(): Set<string> {
  const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not used by the route listing')) });
  const config = loadConfig({});
  const deps = {
    config: { api: config.api, temporal: config.temporal },
    stores: { registry: unused, measurements: unused, objects: unused },
    models: unused,
    analysis: unused,
    temporal: () => Promise.reject(new Error('not used')),
    backend: 'cpu',
    log: pino({ level: 'silent' }),
  } as unknown as AppDeps;
  const app = createApp(deps) as unknown as { router: { stack: Layer[] } };
  return new Set(routesOf(app.router.stack).map(normalRoute));
}

/** Parameter names and query strings do not matter: `GET /models/:name/versions/:v?x=` is `GET /models/:/versions/:`. */
const normalRoute = (route: string) =>
  route
    .replace(/\?.*$/, '')
    .replace(/:\w+/g, ':')
    .replace(/<[^>]+>/g, ':')
    .replace(/(.)\/$/, '$1');

/** `POST /deployments/:id/rollout/{promote,abort}` names two routes. */
const expandBraces = (route: string): string[] => {
  const match = /\{([^}]+)\}/.exec(route);
  if (!match) return [route];
  return match[1]!.split(',').flatMap((alt) => expandBraces(route.replace(match[0], alt)));
};

/** Routes a document names: `METHOD /path` in prose and tables, and `curl [-X METHOD] "$API/path"` in examples. */
function namedRoutes(text: string): string[] {
  const prose = [...text.matchAll(/\b(GET|POST|PUT|PATCH|DELETE) (\/[^\s`'"|),;<]*)/g)].map(([, m, p]) => `${m} ${p}`);
  const curls = [...text.matchAll(/curl [^\n]*?(?:-X (GET|POST|PUT|PATCH|DELETE) [^\n]*?)?"\$API(\/[^"]*)"/g)].map(
    ([, m, p]) => `${m ?? 'GET'} ${p}`,
  );
  return [...prose, ...curls].flatMap(expandBraces).map(normalRoute);
}

/** A named route is served when each segment is the same, or a parameter of the served route (`/deployments/green`). */
function servedAs(named: string, served: Set<string>): string | undefined {
  const [method, ...segments] = named.split(/ |\//);
  return [...served].find((route) => {
    const [m, ...s] = route.split(/ |\//);
    return m === method && s.length === segments.length && s.every((seg, i) => seg === segments[i] || (seg === ':' && segments[i] !== ''));
  });
}

/** Routes a document names that the app does not serve (routes other parts add are allowed until they are served). */
function unservedRoutes(file: string, text: string, served: Set<string>, pending = PENDING_ROUTES): string[] {
  const pendingRoutes = new Set(pending.map(normalRoute));
  return [...new Set(namedRoutes(text))]
    .filter((route) => !servedAs(route, served) && !pendingRoutes.has(route))
    .map((route) => `${file} names ${route}, which the app does not serve`);
}

/** docs/API.md: every route it names is served, every served route is documented, and no pending route is served yet. */
function routeProblems(file: string, text: string, served: Set<string>, pending = PENDING_ROUTES): string[] {
  const problems = pending
    .map(normalRoute)
    .filter((r) => served.has(r))
    .map((r) => `${r} is served now: delete it from PENDING_ROUTES`);
  problems.push(...unservedRoutes(file, text, served, pending));
  const documented = new Set(namedRoutes(text).map((route) => servedAs(route, served)));
  for (const route of served) if (!documented.has(route)) problems.push(`${file} does not document ${route}`);
  return problems;
}

describe('README.md and docs/', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

  it('name only npm scripts that exist', () => {
    expect(docs.flatMap((doc) => unknownNpmScripts(doc, scripts))).toEqual([]);
    expect(unknownNpmScripts({ file: 'x.md', text: 'run `npm run docs:confg` first' }, scripts)).toEqual([
      'x.md: npm run docs:confg is not a script of package.json',
    ]);
  });

  it('name only repo paths that exist', () => {
    expect(docs.flatMap((doc) => missingPaths(doc))).toEqual([]);
    expect(missingPaths({ file: 'x.md', text: 'see `api/routes/predcit.ts` and `core/config.ts`' })).toEqual([
      'x.md: api/routes/predcit.ts does not exist',
    ]);
    expect(missingPaths({ file: 'x.md', text: '`serving/server.ts`' }, { 'serving/server.ts': 'api/server.ts' })).toEqual([]);
    expect(missingPaths({ file: 'x.md', text: '```\napi/      the HTTP layer\nservng/   models\n```\n' })).toEqual([
      'x.md: the layout names servng/, which does not exist',
    ]);
    expect(missingPaths({ file: 'x.md', text: '`api/server.ts`' }, { 'api/server.ts': 'api/elsewhere.ts' })).toEqual([
      'x.md: api/server.ts exists now: delete it from MOVING in test/unit/docs.test.ts',
    ]);
  });

  it('link only to files and headings that exist', () => {
    expect(docs.flatMap((doc) => brokenLinks(doc))).toEqual([]);
    const broken = { file: 'docs/x.md', text: 'see [API](API.md#no-such-heading), [ops](OPERATION.md) and [top](../README.md)' };
    expect(brokenLinks({ file: 'x.md', text: '[config](docs/CONFIGURATION.md)' }, read, new Set(['docs/CONFIGURATION.md']))).toEqual([
      'docs/CONFIGURATION.md exists now: delete it from PENDING_FILES in test/unit/docs.test.ts',
    ]);
    expect(brokenLinks(broken, () => '# API\n## Errors\n')).toEqual([
      'docs/x.md: link API.md#no-such-heading: docs/API.md has no heading #no-such-heading',
      'docs/x.md: link OPERATION.md -> docs/OPERATION.md does not exist',
    ]);
    expect([...anchorsOf('# The `/predict` route: limits\n## Drift monitor\n## Drift monitor\n')]).toEqual([
      'the-predict-route-limits',
      'drift-monitor',
      'drift-monitor-1',
    ]);
  });

  it('name only routes the app serves, and docs/API.md names every one', () => {
    const served = appRoutes();
    expect(docs.flatMap((doc) => unservedRoutes(doc.file, doc.text, served))).toEqual([]);
    expect(served.size).toBeGreaterThan(30);
    expect(routeProblems('docs/API.md', read('docs/API.md'), served)).toEqual([]);

    const text = read('docs/API.md');
    expect(routeProblems('docs/API.md', `${text}\n| \`DELETE /models/:name\` | admin | - |`, served)).toEqual([
      'docs/API.md names DELETE /models/:, which the app does not serve',
    ]);
    expect(routeProblems('docs/API.md', `${text}\ncurl -sS -X PUT "$API/deployments/green"`, served)).toEqual([
      'docs/API.md names PUT /deployments/green, which the app does not serve',
    ]);
    expect(routeProblems('docs/API.md', text.replaceAll('/serving-history', '/history'), served)).toEqual([
      'docs/API.md names GET /deployments/:/history, which the app does not serve',
      'docs/API.md names GET /deployments/green/history, which the app does not serve',
      'docs/API.md does not document GET /deployments/:/serving-history',
    ]);
    expect(routeProblems('docs/API.md', text, new Set([...served, 'GET /undocumented']))).toEqual([
      'docs/API.md does not document GET /undocumented',
    ]);
    expect(routeProblems('docs/API.md', text, served, ['GET /metrics'])).toEqual([
      'GET /metrics is served now: delete it from PENDING_ROUTES',
    ]);
  });
});
