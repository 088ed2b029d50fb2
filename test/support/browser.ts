import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Debian's Chromium, as the project's set-up installs it (scripts/install-chromium.sh prints its path; CHROMIUM_PATH
 * overrides). A browser that is missing is a failure that says how to install it, never a skip.
 */
export function chromiumPath(): string {
  const given = process.env.CHROMIUM_PATH;
  if (given) {
    if (!existsSync(given)) throw new Error(`CHROMIUM_PATH=${given} does not exist: unset it, or run bash scripts/install-chromium.sh`);
    return given;
  }
  for (const candidate of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(candidate)) return candidate;
  let printed: string;
  try {
    printed = execFileSync('bash', ['scripts/install-chromium.sh'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch (err) {
    throw new Error(
      `no Chromium for the console's browser tests, and bash scripts/install-chromium.sh could not install it (${(err as Error).message}): ` +
        "install Debian's chromium package, or set CHROMIUM_PATH to a Chromium binary",
      { cause: err },
    );
  }
  if (!printed || !existsSync(printed)) throw new Error(`bash scripts/install-chromium.sh printed "${printed}", which is not a browser`);
  return printed;
}

/** Chromium headless through playwright-core; without its sandbox when running as root (a container, CI). */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  return chromium.launch({ executablePath, headless: true, args });
}

/** Types the token into the login page's "Access token" field and presses "Sign in". */
export async function signIn(page: Page, consoleUrl: string, token: string): Promise<void> {
  await page.goto(consoleUrl);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs in and waits until the console shows its pages (the login form gone, the navigation there). */
export async function signInAs(page: Page, consoleUrl: string, token: string): Promise<void> {
  await signIn(page, consoleUrl, token);
  await page.getByLabel('Access token').waitFor({ state: 'detached' });
}
