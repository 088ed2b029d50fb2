import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/** The lint guard on workflow code (eslint.config.js), on files it derives from what the workflow bundle contains. */
describe('the workflow bundle lint guard', () => {
  const eslint = new ESLint();
  const problemsOf = async (filePath: string, code: string) =>
    (await eslint.lintText(code, { filePath }))[0].messages
      .filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports')
      .map((m) => m.message);

  it('refuses Node built-ins and other packages in a bundle file outside workflows/ (core/mapLimit.ts)', async () => {
    const code = `import { randomUUID } from 'node:crypto';\nimport { z } from 'zod';\nexport const x = [randomUUID, z];\n`;
    const problems = await problemsOf('core/mapLimit.ts', code);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/deterministic sandbox: no Node built-ins/),
        expect.stringMatching(/only @temporalio\/workflow and @temporalio\/common/),
      ]),
    );
  }, 120_000);

  it('allows type-only imports and Temporal workflow APIs there', async () => {
    const code = `import type { Stats } from 'node:fs';\nimport { sleep } from '@temporalio/workflow';\nexport const x = (s: Stats) => [s, sleep];\n`;
    expect(await problemsOf('workflows/trainAndRegister/summary.ts', code)).toEqual([]);
  }, 120_000);

  it('leaves files outside the bundle alone', async () => {
    expect(await problemsOf('core/ml/backend.ts', `import fs from 'node:fs';\nexport const x = fs;\n`)).toEqual([]);
  }, 120_000);
});
