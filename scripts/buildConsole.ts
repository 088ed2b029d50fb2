/**
 * Bundles the console (console/src, Preact + Observable Plot) into console/dist, which the API serves under /console.
 * Run by scripts/setup.sh, so a fresh clone and the image build it; `--if-stale` skips the build when dist is newer
 * than every source file.
 */
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../console');
const dist = path.join(root, 'dist');
const STATIC_FILES = ['index.html'];

async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === 'dist') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? await newestSource(full) : (await stat(full)).mtimeMs);
  }
  return newest;
}

async function builtAt(): Promise<number> {
  try {
    return (await stat(path.join(dist, 'app.js'))).mtimeMs;
  } catch {
    return 0;
  }
}

export async function buildConsole({ ifStale = false } = {}): Promise<boolean> {
  const lockfile = path.resolve(root, '../package-lock.json');
  if (ifStale && (await builtAt()) > Math.max(await newestSource(root), (await stat(lockfile)).mtimeMs)) return false;
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  await build({
    entryPoints: { app: path.join(root, 'src/main.tsx') },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    outdir: dist,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: path.join(root, 'tsconfig.json'),
    loader: { '.css': 'css' },
    logLevel: 'warning',
    legalComments: 'linked',
  });
  for (const file of STATIC_FILES) await copyFile(path.join(root, file), path.join(dist, file));
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const built = await buildConsole({ ifStale: process.argv.includes('--if-stale') });
  console.log(built ? `[console] built ${path.relative(process.cwd(), dist)}` : '[console] up to date');
}
