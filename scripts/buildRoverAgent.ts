/**
 * Builds the rover's install kit (`npm run rover:bundle`, into .tools/rover-agent): the agent (edge/agent/main.ts)
 * bundled into one ES module for Node 20, the package.json and lockfile of the few packages it loads at run time, and
 * deploy/rover's install script, unit and device scripts. Copied to the Pi, `sudo ./install.sh` installs it
 * (docs/ROVER.md).
 *
 * Left out of the bundle on purpose:
 * - i2c-bus (a native module, built on the Pi by npm) and pino (bundled, its worker-thread transports would need files
 *   of their own beside the bundle);
 * - the simulated devices: they render frames with sharp. A module whose name starts with `simulated` is replaced by
 *   one that throws when loaded, so `--simulate` says it needs the repository instead of the bundle needing sharp;
 * - sharp, TensorFlow.js and the server's stores: reaching one of them fails the build, naming who imported it.
 */
import { build, type Plugin } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_ENTRY = path.join(ROOT, 'edge/agent/main.ts');
export const DEFAULT_OUT_DIR = path.join(ROOT, '.tools/rover-agent');
export const BUNDLE_FILE = 'rover-agent.js';
/** Installed on the rover by npm from deploy/rover/package.json. */
export const RUNTIME_PACKAGES = ['i2c-bus', 'pino'];
/** deploy/rover files the kit carries, and docs/ROVER.md (the unit's Documentation=). */
const KIT_FILES = [
  'package.json',
  'package-lock.json',
  'install.sh',
  'boot-config.sh',
  'stop-drive.sh',
  'check-devices.sh',
  'rover-agent.service',
];
const REFUSED = /^(sharp|@tensorflow\/.*|better-sqlite3|mysql2|knex|minio|@influxdata\/.*|@temporalio\/.*|express)$/;
const SIMULATED = /(^|\/)simulated[A-Z][\w]*(\.js|\.ts)?$/;

export const LEFT_OUT_MESSAGE =
  'the simulated devices are not in the rover bundle: run `npm run rover -- agent --simulate ...` from the repository';

/** Fails the build on a refused package, and replaces simulated modules by one that throws when loaded. */
const roverOnly: Plugin = {
  name: 'rover-only',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      // A package's name: `name` or `@scope/name`, without a path inside it; null for a file.
      const bare = /^[^./]/.test(args.path) ? /^(@[^/]+\/)?[^/]+/.exec(args.path)![0] : null;
      if (bare && REFUSED.test(bare)) {
        const from = path.relative(ROOT, args.importer);
        return { errors: [{ text: `${bare} must not reach the rover bundle (imported by ${from})` }] };
      }
      if (args.kind !== 'entry-point' && SIMULATED.test(args.path)) return { path: args.path, namespace: 'left-out' };
      return undefined;
    });
    // An OperatorError: the agent's command line prints its message alone, not a stack.
    b.onLoad({ filter: /.*/, namespace: 'left-out' }, () => ({
      contents: `import { OperatorError } from './core/commandLine.js';\nthrow new OperatorError(${JSON.stringify(LEFT_OUT_MESSAGE)});\n`,
      loader: 'ts',
      resolveDir: ROOT,
    }));
  },
};

export interface RoverBundle {
  outDir: string;
  bundle: string;
  bytes: number;
  /** Repo files in the bundle, for a reader asking what the rover runs. */
  inputs: string[];
}

export async function buildRoverAgent({ entry = DEFAULT_ENTRY, outDir = DEFAULT_OUT_DIR } = {}): Promise<RoverBundle> {
  await mkdir(outDir, { recursive: true });
  const bundle = path.join(outDir, BUNDLE_FILE);
  const result = await build({
    entryPoints: [entry],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // Input paths in the metafile relative to the repo, whatever the caller's folder.
    absWorkingDir: ROOT,
    // Bundled CommonJS packages call require(): give the module one.
    banner: { js: "import { createRequire as __roverRequire } from 'node:module'; const require = __roverRequire(import.meta.url);" },
    external: RUNTIME_PACKAGES,
    plugins: [roverOnly],
    sourcemap: true,
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  for (const file of KIT_FILES) await copyFile(path.join(ROOT, 'deploy/rover', file), path.join(outDir, file));
  await copyFile(path.join(ROOT, 'docs/ROVER.md'), path.join(outDir, 'ROVER.md'));
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint);
  return {
    outDir,
    bundle,
    bytes: output?.bytes ?? 0,
    inputs: Object.keys(result.metafile.inputs).filter((input) => !input.includes('node_modules/') && !input.startsWith('left-out:')),
  };
}

const USAGE = `usage: npm run rover:bundle -- [--entry FILE] [--out DIR]
  --entry FILE   the agent's entry (default edge/agent/main.ts)
  --out DIR      where the kit goes (default .tools/rover-agent)`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { parseArgs } = await import('node:util');
  let values: { entry?: string; out?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { entry: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    console.error(`error: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
  } else {
    try {
      const built = await buildRoverAgent({
        entry: values.entry ? path.resolve(values.entry) : DEFAULT_ENTRY,
        outDir: values.out ? path.resolve(values.out) : DEFAULT_OUT_DIR,
      });
      console.log(`[rover] ${built.bundle}: ${(built.bytes / 1024).toFixed(0)} KiB from ${built.inputs.length} repo files`);
    } catch {
      // esbuild has printed its errors.
      process.exitCode = 1;
    }
  }
}
