import { afterEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../../scripts/chromium.js';

/** The browser tests fail, never skip, without a browser: the launcher throws, naming what is missing. */
describe('launchChromium', () => {
  const saved = process.env.CHROMIUM_PATH;
  afterEach(() => {
    if (saved === undefined) delete process.env.CHROMIUM_PATH;
    else process.env.CHROMIUM_PATH = saved;
  });

  it('refuses a CHROMIUM_PATH that is not there instead of falling back to another browser', async () => {
    process.env.CHROMIUM_PATH = '/nonexistent/chromium';
    await expect(launchChromium()).rejects.toThrow(/no Chromium: .*CHROMIUM_PATH=\/nonexistent\/chromium is not an executable/);
  });
});
