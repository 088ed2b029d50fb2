import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRoverAgent, LEFT_OUT_MESSAGE, RUNTIME_PACKAGES, type RoverBundle } from '../../scripts/buildRoverAgent.js';

/*
 * "CI checks that the agent's dependencies install and import on this machine": the rover's install kit is built as
 * `npm run rover:bundle` builds it, its package.json is installed as install.sh does on the Pi (`npm ci --omit=dev`,
 * compiling i2c-bus), in a temp folder outside the repository so nothing resolves from the repo's node_modules, and the
 * bundle is started. The Pi itself is not here: docs/ROVER.md's checks are run there by hand.
 */

const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));
const temps: string[] = [];
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rover-kit-'));
  temps.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

/** Only what a Pi has: no NODE_PATH, no repo on the way up from the kit. */
const piEnv = () => ({ PATH: process.env.PATH, HOME: process.env.HOME });
/** This process's environment without what an enclosing `npm test` set for the repo's own package. */
const npmEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_(package_|lifecycle_|config_(local_prefix|prefix)$)/i.test(key)));
const node = (kit: string, args: string[]) =>
  spawnSync(process.execPath, args, { cwd: kit, encoding: 'utf8', env: piEnv(), timeout: 60_000 });

describe('the rover kit', () => {
  let kit: RoverBundle;
  let installed: { status: number | null; output: string };

  beforeAll(async () => {
    kit = await buildRoverAgent({ outDir: tempDir() });
    const started = Date.now();
    const npm = spawnSync('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: kit.outDir,
      encoding: 'utf8',
      env: { ...npmEnv(), npm_config_loglevel: 'warn' },
      timeout: 300_000,
    });
    installed = { status: npm.status, output: `${npm.stdout}\n${npm.stderr}` };
    console.log(
      `[rover kit] ${(kit.bytes / 1024).toFixed(0)} KiB bundle from ${kit.inputs.length} repo files; npm ci ${Date.now() - started} ms`,
    );
  });

  it('bundles the agent and its devices, without sharp, TensorFlow.js, the models or the simulated devices', () => {
    expect(kit.inputs).toContain('edge/agent/main.ts');
    expect(kit.inputs.filter((input) => /(^|\/)simulated[A-Z]|^edge\/camera\.ts$|^core\/ml\//.test(input))).toEqual([]);
    const bundle = fs.readFileSync(kit.bundle, 'utf8');
    // What it loads at run time: Node's own modules and the kit's packages, nothing else.
    const loaded = new Set([...bundle.matchAll(/(?:^import .* from |\bimport\()["']([^"']+)["']/gm)].map(([, name]) => name!));
    expect([...loaded].filter((name) => !name.startsWith('node:')).sort()).toEqual([...RUNTIME_PACKAGES].sort());
    expect(bundle).not.toMatch(/from ["'](sharp|@tensorflow\/[\w-]+)["']|require\(["'](sharp|@tensorflow\/[\w-]+)["']\)/);
  });

  it('installs its packages with npm ci --omit=dev, compiling i2c-bus, and nothing of the server', () => {
    expect(installed.status, installed.output).toBe(0);
    const packages = fs.readdirSync(path.join(kit.outDir, 'node_modules'));
    expect(packages).toEqual(expect.arrayContaining(['i2c-bus', 'pino']));
    expect(packages.filter((p) => /^(sharp|@tensorflow|@img|better-sqlite3|@temporalio)$/.test(p))).toEqual([]);
    const load = node(kit.outDir, [
      '--input-type=module',
      '-e',
      "const i2c = (await import('i2c-bus')).default; console.log(typeof i2c.openPromisified)",
    ]);
    expect(load.stderr).toBe('');
    expect(load.stdout.trim()).toBe('function');
  });

  it('starts from the kit alone: --help answers', () => {
    const help = node(kit.outDir, ['rover-agent.js', '--help']);
    expect(help.stderr).toBe('');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/usage/i);
  });

  it('is given only options the agent knows, by the unit and by check-devices.sh', () => {
    const help = node(kit.outDir, ['rover-agent.js', '--help']).stdout;
    // The agent's own arguments: what follows the bundle on the unit's command line.
    const execStart = /^ExecStart=.*?rover-agent\.js([\s\S]*?[^\\])$/m.exec(
      fs.readFileSync(path.join(kit.outDir, 'rover-agent.service'), 'utf8'),
    )![1]!;
    const checkDevices = /\$agent (--check[^;]*);/.exec(fs.readFileSync(path.join(kit.outDir, 'check-devices.sh'), 'utf8'))![1]!;
    const flags = new Set([...`${execStart} ${checkDevices}`.matchAll(/(?<=\s)--[a-z][a-z-]*/g)].map(([flag]) => flag));
    expect(flags.size).toBeGreaterThan(8);
    expect([...flags].filter((flag) => !help.includes(flag))).toEqual([]);
  });

  it('install.sh --dry-run walks every step and changes nothing', () => {
    const dir = tempDir();
    const config = path.join(dir, 'config.txt');
    fs.writeFileSync(config, 'dtparam=audio=on\n');
    const credentials = path.join(dir, 'rover.credentials');
    fs.writeFileSync(credentials, 'CLIENT_ID=rover-1\nTOKEN=t0k\n', { mode: 0o600 });
    const before = ['/opt/rover-agent', '/etc/rover-agent'].map((p) => fs.existsSync(p));
    const run = spawnSync(
      'bash',
      [path.join(kit.outDir, 'install.sh'), '--dry-run', '--boot-config', config, '--api', 'http://api:3000', '--credentials', credentials],
      { encoding: 'utf8' },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/rover lines written/);
    expect(run.stdout).toMatch(/\[dry-run\] \(cd \/opt\/rover-agent && npm ci --omit=dev\)/);
    expect(fs.readFileSync(config, 'utf8')).toBe('dtparam=audio=on\n');
    expect(['/opt/rover-agent', '/etc/rover-agent'].map((p) => fs.existsSync(p))).toEqual(before);
  });

  it('install.sh installs the kit under a root, and a second run changes nothing', () => {
    const dir = tempDir();
    const root = path.join(dir, 'root');
    fs.mkdirSync(path.join(root, 'boot/firmware'), { recursive: true });
    fs.writeFileSync(path.join(root, 'boot/firmware/config.txt'), 'dtparam=audio=on\n');
    const credentials = path.join(dir, 'rover.credentials');
    fs.writeFileSync(credentials, 'CLIENT_ID=rover-1\nTOKEN=t0k\n', { mode: 0o600 });
    // Stand-ins for what changes the system outside the root: users, groups, apt and systemd. Each logs its call
    // and keeps its state in files, so a second run sees what the first one did.
    const bin = path.join(dir, 'bin');
    const state = path.join(dir, 'state');
    fs.mkdirSync(bin);
    fs.mkdirSync(state);
    fs.writeFileSync(path.join(state, 'groups'), 'i2c\nvideo\ngpio\n');
    for (const file of ['users', 'members', 'packages', 'enabled', 'calls']) fs.writeFileSync(path.join(state, file), '');
    const stub = (name: string, body: string) =>
      fs.writeFileSync(path.join(bin, name), `#!/bin/bash\nS=${state}\necho "${name} $*" >> $S/calls\n${body}\n`, { mode: 0o755 });
    stub('getent', 'grep -qx "$2" "$S/$([ "$1" = passwd ] && echo users || echo groups)"');
    stub('id', '[ "$1" = -nG ] && { grep "^$2 " "$S/members" | cut -d" " -f2 | tr "\\n" " "; exit 0; }; exec /usr/bin/id "$@"');
    stub('useradd', 'echo "${@: -1}" >> $S/users');
    stub('groupadd', 'echo "${@: -1}" >> $S/groups');
    stub('usermod', 'echo "$3 $2" >> $S/members');
    stub('dpkg-query', 'grep -qx "${@: -1}" $S/packages && printf "install ok installed"');
    stub(
      'apt-get',
      `[ "$1" = install ] && for p in "$@"; do echo "$p" >> $S/packages; done; [[ " $* " == *" rpicam-apps-lite "* ]] && touch ${bin}/rpicam-vid && chmod +x ${bin}/rpicam-vid; true`,
    );
    stub('modprobe', 'true');
    stub('systemctl', 'case "$1" in is-enabled) grep -qx "${@: -1}" $S/enabled ;; enable) echo "${@: -1}" >> $S/enabled ;; esac');
    const install = () => {
      fs.writeFileSync(path.join(state, 'calls'), '');
      const run = spawnSync('bash', [path.join(kit.outDir, 'install.sh'), '--api', 'http://api:3000', '--credentials', credentials], {
        encoding: 'utf8',
        env: { ...npmEnv(), PATH: `${bin}:${process.env.PATH}`, ROVER_INSTALL_ROOT: root },
      });
      const changes = fs
        .readFileSync(path.join(state, 'calls'), 'utf8')
        .split('\n')
        .filter((call) => /^(useradd|usermod|groupadd|apt-get|modprobe|systemctl (enable|daemon-reload))/.test(call));
      return { ...run, changes };
    };

    const first = install();
    expect(first.stderr.replace(/^npm warn.*\n/gm, '')).toBe('');
    expect(first.status).toBe(0);
    expect(first.changes).toEqual([
      'apt-get update',
      expect.stringMatching(/^apt-get install .*\bi2c-tools\b/),
      'modprobe i2c-dev',
      expect.stringMatching(/^useradd --system .*rover-agent$/),
      'usermod -aG i2c rover-agent',
      'usermod -aG video rover-agent',
      'usermod -aG gpio rover-agent',
      'systemctl daemon-reload',
      'systemctl enable rover-agent.service',
    ]);
    const at = (p: string) => path.join(root, p);
    expect(fs.readFileSync(at('boot/firmware/config.txt'), 'utf8')).toContain('dtoverlay=pwm,pin=18,func=2');
    expect(fs.readFileSync(at('etc/modules-load.d/rover-agent.conf'), 'utf8').trim()).toBe('i2c-dev');
    expect(fs.statSync(at('etc/rover-agent/credentials')).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(at('etc/rover-agent/agent.env'), 'utf8')).toMatch(/^ROVER_API_URL=http:\/\/api:3000$/m);
    expect(fs.statSync(at('opt/rover-agent/stop-drive.sh')).mode & 0o777).toBe(0o755);
    expect(fs.existsSync(at('opt/rover-agent/node_modules/i2c-bus'))).toBe(true);
    expect(fs.readFileSync(at('etc/systemd/system/rover-agent.service'), 'utf8')).toBe(
      fs.readFileSync(path.join(kit.outDir, 'rover-agent.service'), 'utf8'),
    );
    const files = () =>
      execFileSync('find', [root, '-type', 'f', '-not', '-path', '*/node_modules/*', '-printf', '%p %s %m\\n'], { encoding: 'utf8' });
    const installed = files();

    const second = install();
    expect(second.status).toBe(0);
    expect(second.changes).toEqual([]);
    expect(second.stdout).toMatch(/rover lines already there/);
    expect(second.stdout).toMatch(/node_modules up to date/);
    expect(files()).toBe(installed);
  });

  it('refuses to bundle sharp, naming who imported it', async () => {
    await expect(buildRoverAgent({ entry: path.join(REPO_DIR, 'edge/camera.ts'), outDir: tempDir() })).rejects.toThrow(
      /sharp must not reach the rover bundle \(imported by edge\/camera\.ts\)/,
    );
  });

  it('leaves the simulated devices out: loading one says it needs the repository', async () => {
    const dir = tempDir();
    const entry = path.join(dir, 'entry.ts');
    fs.writeFileSync(entry, `await import(${JSON.stringify(path.join(REPO_DIR, 'edge/hardware/simulatedWorld.js'))});\n`);
    await buildRoverAgent({ entry, outDir: dir });
    const run = node(dir, ['rover-agent.js']);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(LEFT_OUT_MESSAGE);
  });
});
