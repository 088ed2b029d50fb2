/**
 * Debian's Chromium through playwright-core, headless, without its sandbox as root (scripts/chromium.ts: CHROMIUM_PATH,
 * or what scripts/install-chromium.sh finds or installs). A missing browser throws, never skips.
 */
export { chromiumPath, launchChromium, settled, signIn, signInAs } from '../../scripts/chromium.js';
