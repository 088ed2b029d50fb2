import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { RUNTIME_PACKAGES } from '../../scripts/buildRoverAgent.js';

/*
 * deploy/rover/: what a Raspberry Pi runs to install and stop the agent. These run the scripts for real where they can
 * (a config.txt and a PWM sysfs tree in temp folders); test/integration/roverAgentPackage.test.ts installs the kit.
 */

const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = path.join(REPO_DIR, 'deploy/rover');
const read = (file: string) => fs.readFileSync(path.join(REPO_DIR, file), 'utf8');
const json = (file: string) => JSON.parse(read(file));

const temps: string[] = [];
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rover-deploy-'));
  temps.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const SCRIPTS = fs.readdirSync(DEPLOY).filter((file) => file.endsWith('.sh'));

describe('the shell scripts', () => {
  it.each(SCRIPTS)('%s parses (bash -n) and is executable in git', (script) => {
    const check = spawnSync('bash', ['-n', path.join(DEPLOY, script)], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    const mode = execFileSync('git', ['ls-files', '--stage', `deploy/rover/${script}`], { cwd: REPO_DIR, encoding: 'utf8' }).split(' ')[0];
    expect(mode).toBe('100755');
  });
});

/** A config.txt as Raspberry Pi OS Bookworm ships it (shortened), with a conditional section last. */
const STOCK_CONFIG = `# For more options and information see http://rptl.io/configtxt
#dtparam=i2c_arm=on
dtparam=audio=on
camera_auto_detect=1
display_auto_detect=1
auto_initramfs=1
dtoverlay=vc4-kms-v3d
arm_64bit=1

[cm4]
otg_mode=1

[all]
`;

const bootConfig = (file: string, ...flags: string[]) =>
  execFileSync('bash', [path.join(DEPLOY, 'boot-config.sh'), ...flags, file], { encoding: 'utf8' }).trim();

describe('boot-config.sh', () => {
  it('writes the rover lines once, after every section, and changes nothing when run again', () => {
    const file = path.join(tempDir(), 'config.txt');
    fs.writeFileSync(file, STOCK_CONFIG);
    expect(bootConfig(file, '--dry-run')).toMatch(/^changed \(dry run/);
    expect(fs.readFileSync(file, 'utf8')).toBe(STOCK_CONFIG);

    expect(bootConfig(file)).toBe('changed');
    const once = fs.readFileSync(file, 'utf8');
    expect(once.startsWith(STOCK_CONFIG.trimEnd())).toBe(true);
    const block = once.slice(once.indexOf('# rover-agent: begin'));
    expect(block.split('\n').filter((line) => line && !line.startsWith('#'))).toEqual([
      '[all]',
      'dtparam=i2c_arm=on',
      'dtoverlay=pwm,pin=18,func=2',
      'dtparam=audio=off',
      'gpio=23=op,dh',
      'camera_auto_detect=1',
    ]);
    expect(fs.readFileSync(`${file}.before-rover`, 'utf8')).toBe(STOCK_CONFIG);

    expect(bootConfig(file)).toBe('unchanged');
    expect(fs.readFileSync(file, 'utf8')).toBe(once);
  });

  it('replaces an older rover block and keeps what the owner added around it', () => {
    const file = path.join(tempDir(), 'config.txt');
    fs.writeFileSync(file, STOCK_CONFIG);
    bootConfig(file);
    const older = fs.readFileSync(file, 'utf8').replace('gpio=23=op,dh', 'gpio=24=op,dh');
    fs.writeFileSync(file, `${older}# mine\nhdmi_safe=1\n`);
    expect(bootConfig(file)).toBe('changed');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('hdmi_safe=1');
    expect(text).not.toContain('gpio=24');
    expect(text.match(/# rover-agent: begin/g)).toHaveLength(1);
    expect(text.trimEnd().endsWith('# rover-agent: end')).toBe(true);
    expect(bootConfig(file)).toBe('unchanged');
  });
});

describe('stop-drive.sh', () => {
  /** The kernel's PWM sysfs files for one exported channel, in a temp folder. */
  function pwmSysfs({ exported }: { exported: boolean }) {
    const root = tempDir();
    const chip = path.join(root, 'pwmchip0');
    fs.mkdirSync(chip);
    fs.writeFileSync(path.join(chip, 'npwm'), '2\n');
    const pwm = path.join(chip, 'pwm0');
    if (exported) {
      fs.mkdirSync(pwm);
      fs.writeFileSync(path.join(pwm, 'period'), '50000\n');
      fs.writeFileSync(path.join(pwm, 'duty_cycle'), '35000\n');
      fs.writeFileSync(path.join(pwm, 'enable'), '1\n');
    }
    return { root, pwm };
  }
  const stopDrive = (root: string, env: Record<string, string> = {}) =>
    spawnSync(path.join(DEPLOY, 'stop-drive.sh'), [], { encoding: 'utf8', env: { PATH: process.env.PATH, ROVER_PWM_SYSFS: root, ...env } });

  it('sets the duty cycle to 0 and disables the channel', () => {
    const { root, pwm } = pwmSysfs({ exported: true });
    const run = stopDrive(root);
    expect(run.status).toBe(0);
    expect(fs.readFileSync(path.join(pwm, 'duty_cycle'), 'utf8').trim()).toBe('0');
    expect(fs.readFileSync(path.join(pwm, 'enable'), 'utf8').trim()).toBe('0');
  });

  it("stops the agent's motor after a SIGKILL, which the drive's own handlers cannot see (the unit's ExecStopPost)", async () => {
    const { root, pwm } = pwmSysfs({ exported: true });
    // The real PwmDrive driving 'fast' in a child process (test/fixtures/pwmDriveChild.ts, Part C's fixture).
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_DIR, 'test/fixtures/pwmDriveChild.ts'), root, 'wait'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('running') && resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const driving = fs.readFileSync(path.join(pwm, 'duty_cycle'), 'utf8').trim();
    expect(Number(driving)).toBeGreaterThan(0);

    expect(stopDrive(root).status).toBe(0);
    expect([
      fs.readFileSync(path.join(pwm, 'duty_cycle'), 'utf8').trim(),
      fs.readFileSync(path.join(pwm, 'enable'), 'utf8').trim(),
    ]).toEqual(['0', '0']);
  });

  it('succeeds when the channel was never exported (no signal, nothing to stop)', () => {
    const { root } = pwmSysfs({ exported: false });
    const run = stopDrive(root);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/not exported/);
  });

  it('stops the channel the agent was given', () => {
    const { root } = pwmSysfs({ exported: false });
    const pwm1 = path.join(root, 'pwmchip0/pwm1');
    fs.mkdirSync(pwm1);
    fs.writeFileSync(path.join(pwm1, 'duty_cycle'), '35000\n');
    fs.writeFileSync(path.join(pwm1, 'enable'), '1\n');
    expect(stopDrive(root, { ROVER_PWM_CHANNEL: '1' }).status).toBe(0);
    expect(fs.readFileSync(path.join(pwm1, 'duty_cycle'), 'utf8').trim()).toBe('0');
  });

  it('fails loudly when it cannot write', () => {
    const { root, pwm } = pwmSysfs({ exported: true });
    // A folder where the file should be makes the write fail even for root.
    fs.rmSync(path.join(pwm, 'enable'));
    fs.mkdirSync(path.join(pwm, 'enable'));
    const run = stopDrive(root);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/could not stop/);
  });
});

describe('check-devices.sh', () => {
  // What the Pi's tools print (i2c-tools 4.3, rpicam-apps 1.5, pinctrl on Bookworm), played by stand-ins on PATH.
  const I2CDETECT = (found: boolean) => `     0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f
00:
10:
20:                            ${found ? '29' : '--'}
30:
`;
  const CAMERAS = `Available cameras
-----------------
0 : imx708_wide [4608x2592 10-bit RGGB] (/base/soc/i2c0mux/i2c@1/imx708@1a)
    Modes: 'SRGGB10_CSI2P' : 1536x864 [120.13 fps - (768, 432)/3072x1728 crop]
`;
  const NO_CAMERA = 'No cameras available!\n';
  const PIN_HIGH = '23: op dh pd | hi // GPIO23 = output\n';
  const PIN_INPUT = '23: ip    pd | lo // GPIO23 = input\n';

  function rover({ laser = true, camera = true, pin = PIN_HIGH, agentExit = 0, serviceRunning = false } = {}) {
    const dir = tempDir();
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    const stub = (name: string, output: string, exit = 0) =>
      fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "$0 $*" >> ${dir}/calls\ncat <<'OUT'\n${output}OUT\nexit ${exit}\n`, {
        mode: 0o755,
      });
    stub('i2cdetect', I2CDETECT(laser));
    stub('rpicam-hello', camera ? CAMERAS : NO_CAMERA);
    stub('pinctrl', pin);
    stub('systemctl', '', serviceRunning ? 0 : 3);
    stub('agent', agentExit === 0 ? '{"mm":412}\n' : 'no reading: unplugged\n', agentExit);
    fs.mkdirSync(path.join(dir, 'dev'));
    fs.writeFileSync(path.join(dir, 'dev/i2c-1'), '');
    fs.mkdirSync(path.join(dir, 'pwm/pwmchip0'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'pwm/pwmchip0/npwm'), '2\n');
    fs.writeFileSync(path.join(dir, 'pwm/pwmchip0/export'), '');
    const run = spawnSync('bash', [path.join(DEPLOY, 'check-devices.sh'), '--agent', path.join(bin, 'agent')], {
      encoding: 'utf8',
      env: {
        PATH: `${bin}:/usr/bin:/bin`,
        ROVER_ENV_FILE: path.join(dir, 'none.env'),
        ROVER_DEV: path.join(dir, 'dev'),
        ROVER_PWM_SYSFS: path.join(dir, 'pwm'),
      },
    });
    return { ...run, calls: fs.readFileSync(path.join(dir, 'calls'), 'utf8') };
  }

  it('passes a rover whose devices all answer, asking the agent for one laser reading', () => {
    const run = rover();
    expect(run.stdout.split('\n').filter((line) => /^(OK|FAIL)/.test(line))).toEqual([
      'OK    a device answers at 0x29',
      'OK    camera 0 found',
      `OK    ${run.stdout.match(/OK {4}(\/\S+pwmchip0), channel 0/)![1]}, channel 0, writable by the agent`,
      'OK    GPIO23 is an output, high: reverse',
      'OK    the agent reads the laser and the camera',
    ]);
    expect(run.status).toBe(0);
    expect(run.calls).toMatch(/i2cdetect -y 1 0x29 0x29/);
    expect(run.calls).toMatch(/agent --check --i2c-bus 1/);
  });

  it('names each device that does not answer and exits with how many failed', () => {
    const run = rover({ laser: false, camera: false, pin: PIN_INPUT, agentExit: 1 });
    expect(
      run.stdout
        .split('\n')
        .filter((line) => line.startsWith('FAIL'))
        .map((line) => line.split(':')[0]),
    ).toEqual([
      'FAIL  nothing at 0x29',
      'FAIL  no camera',
      'FAIL  GPIO23 is not an output driven high',
      'FAIL  the agent could not read the laser or the camera (above',
    ]);
    expect(run.status).toBe(4);
  });

  it('does not open the devices through a second agent while the service drives', () => {
    const run = rover({ serviceRunning: true });
    expect(run.stdout).toMatch(/^FAIL {2}rover-agent is running: stop it first/m);
    expect(run.calls).not.toMatch(/agent --check/);
    expect(run.status).toBe(1);
  });
});

const systemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('rover-agent.service', () => {
  const unit = read('deploy/rover/rover-agent.service');

  it.runIf(systemdAnalyze)('passes systemd-analyze verify without a warning', () => {
    // verify wants the commands to exist: point the unit at a temp folder holding the scripts it runs.
    const dir = tempDir();
    fs.copyFileSync(path.join(DEPLOY, 'stop-drive.sh'), path.join(dir, 'stop-drive.sh'));
    fs.writeFileSync(path.join(dir, 'rover-agent.service'), unit.replaceAll('/opt/rover-agent', dir));
    const verify = spawnSync('systemd-analyze', ['verify', path.join(dir, 'rover-agent.service')], { encoding: 'utf8' });
    expect(verify.stderr + verify.stdout).toBe('');
    expect(verify.status).toBe(0);
  });

  it('stops the motor after every end of the agent, as root, and keeps /sys writable for the PWM', () => {
    expect(unit).toMatch(/^ExecStopPost=\+\/opt\/rover-agent\/stop-drive\.sh$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^ProtectSystem=strict$/m);
    expect(unit).not.toMatch(/^(ProtectKernelTunables|PrivateDevices)=yes/m);
    expect(unit).toMatch(/^SupplementaryGroups=i2c video gpio$/m);
  });
});

describe('deploy/rover/package.json', () => {
  const rover = json('deploy/rover/package.json');
  const lock = json('deploy/rover/package-lock.json');
  const root = json('package.json');

  it('holds exactly the packages the bundle leaves out, at the versions the repo uses', () => {
    expect(Object.keys(rover.dependencies).sort()).toEqual([...RUNTIME_PACKAGES].sort());
    // The repo's package.json has them too (i2c-bus optional: the simulated rover needs none), so the agent run from a
    // checkout (npm run rover -- agent) loads what the Pi loads.
    const repo = { ...root.dependencies, ...root.optionalDependencies };
    for (const [name, range] of Object.entries(rover.dependencies)) expect(`${name}@${range}`).toBe(`${name}@${repo[name]}`);
    expect(rover.allowScripts).toEqual({ 'i2c-bus': true });
    expect(root.allowScripts['i2c-bus']).toBe(true);
    expect(rover.engines.node).toBe(root.engines.node);
  });

  it('has a lockfile made from it', () => {
    expect(lock.packages[''].dependencies).toEqual(rover.dependencies);
    const forbidden = Object.keys(lock.packages).filter((p) => /node_modules\/(sharp|@tensorflow|@img)\b/.test(p));
    expect(forbidden).toEqual([]);
  });
});
