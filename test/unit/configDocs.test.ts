import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { envSchema } from '../../core/config.js';
import { CONFIGURATION_DOC, formattedDocument, settingsTable, undescribedSettings } from '../../scripts/configDocs.js';

/*
 * docs/CONFIGURATION.md's settings table is generated from the config schema; .env.example lists the settings
 * docker compose passes. Each check is a function returning its problems, also run once on a copy broken on
 * purpose, so a check that can no longer fail fails here.
 */

const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => fs.readFileSync(path.join(REPO_DIR, file), 'utf8');

/** Settings .env.example names, also those it leaves empty. */
const envExampleNames = (text: string) => new Set([...text.matchAll(/^\s*#?\s*([A-Z][A-Z0-9_]*)=/gm)].map(([, name]) => name!));

/** Settings compose gives the app's containers (from .env, which composeFile.test.ts checks, or a value of its own). */
function composeAppSettings(composeText: string): Set<string> {
  const compose = parseYaml(composeText, { merge: true }) as { services: Record<string, { environment?: Record<string, string> }> };
  return new Set(Object.keys({ ...compose.services.api?.environment, ...compose.services.worker?.environment }));
}

/** Settings the image's entrypoint builds from the separate store settings (deploy/app/storeUrls.ts). */
const entrypointSettings = (storeUrlsText: string) =>
  new Set([...storeUrlsText.matchAll(/setting: '([A-Z_]+)'/g)].map(([, name]) => name!));

/** Settings of the schema that a docker compose deployment cannot set: not in .env.example, and compose does not set them. */
function settingsMissingFromEnvExample(names: string[], envExample: string, composeText: string, storeUrlsText: string): string[] {
  const covered = new Set([...envExampleNames(envExample), ...composeAppSettings(composeText), ...entrypointSettings(storeUrlsText)]);
  return names.filter((name) => !covered.has(name));
}

describe('docs/CONFIGURATION.md', () => {
  it('describes every setting of the schema', () => {
    expect(undescribedSettings()).toEqual([]);
    const broken = envSchema.extend({ NEW_SETTING: z.string().optional() });
    expect(undescribedSettings(broken)).toEqual(['NEW_SETTING']);
  });

  it('holds the table npm run docs:config writes', async () => {
    const current = fs.readFileSync(CONFIGURATION_DOC, 'utf8');
    expect(current === (await formattedDocument(current)), 'docs/CONFIGURATION.md is out of date: run npm run docs:config').toBe(true);
    for (const name of Object.keys(envSchema.shape)) expect(settingsTable()).toContain(`\`${name}\``);

    const described = envSchema.extend({ NEW_SETTING: z.string().default('x').describe('a setting added after the table was written') });
    expect(await formattedDocument(current, described)).not.toBe(current);
  });
});

describe('.env.example', () => {
  it('lists every setting of the schema that compose does not set itself', () => {
    const [envExample, composeText, storeUrls] = [read('.env.example'), read('docker-compose.yml'), read('deploy/app/storeUrls.ts')];
    const names = Object.keys(envSchema.shape);
    expect(settingsMissingFromEnvExample(names, envExample, composeText, storeUrls)).toEqual([]);

    expect(settingsMissingFromEnvExample([...names, 'NEW_SETTING'], envExample, composeText, storeUrls)).toEqual(['NEW_SETTING']);
    const composeWithoutLogLevel = composeText.replace(/^\s*LOG_LEVEL: .*\n/m, '');
    const envExampleWithoutLogLevel = envExample.replace(/^LOG_LEVEL=.*$/m, '');
    expect(settingsMissingFromEnvExample(names, envExampleWithoutLogLevel, composeWithoutLogLevel, storeUrls)).toEqual(['LOG_LEVEL']);
  });
});
