/**
 * Debian's Chromium driven by playwright-core (whose own browser download needs the internet): for the console's
 * browser tests and its screenshots. scripts/install-chromium.sh installs it (npm run setup does) and prints its path.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const INSTALL_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'install-chromium.sh');

/** The browser's path: CHROMIUM_PATH, or what install-chromium.sh finds or installs; throws when there is none. */
export function chromiumPath(): string {
  try {
    return execFileSync('bash', [INSTALL_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    throw new Error(`no Chromium: scripts/install-chromium.sh failed (${(err as { stderr?: string }).stderr?.trim() || err})`, {
      cause: err,
    });
  }
}

export async function launchChromium(): Promise<Browser> {
  // Chromium's sandbox refuses to run as root (CI runs as root); the pages it opens are our own.
  const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args });
}

/** A console page that has settled: no request for half a second, and no "Loading…" left (15 s at most). */
export async function settled(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle');
  await page
    .locator('.loading')
    .first()
    .waitFor({ state: 'detached', timeout: 15_000 })
    .catch(() => undefined);
}

/** Types the token into the console's "Access token" field and presses "Sign in". */
export async function signIn(page: Page, consoleUrl: string, token: string): Promise<void> {
  await page.goto(consoleUrl);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs in and waits until the console shows its pages (the sections' navigation). */
export async function signInAs(page: Page, consoleUrl: string, token: string): Promise<void> {
  await signIn(page, consoleUrl, token);
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
}
