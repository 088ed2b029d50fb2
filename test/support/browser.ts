import type { Page } from 'playwright-core';

/**
 * Debian's Chromium through playwright-core, headless, without its sandbox as root (scripts/chromium.ts: CHROMIUM_PATH,
 * or what scripts/install-chromium.sh finds or installs). A missing browser throws, never skips.
 */
export { chromiumPath, launchChromium, settled } from '../../scripts/chromium.js';

/** Types the token into the login page's "Access token" field and presses "Sign in". */
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
