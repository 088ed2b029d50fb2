// Lint rules, run by `npm test` (scripts/test.sh) and so by CI.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';
import { cruise } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

/** Workflow code is bundled into Temporal's deterministic sandbox: no Node built-ins (as in temporalio/samples-typescript). */
const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

/**
 * The files in the workflow bundle: what workflows/index.ts reaches by imports that survive compilation (type-only
 * imports do not), as Temporal's bundler follows them. Derived on every run, so a new file the workflows use is
 * guarded the day it is imported.
 */
async function workflowBundleFiles() {
  const options = { tsPreCompilationDeps: false, doNotFollow: { path: 'node_modules' }, preserveSymlinks: true };
  const tsConfig = extractTSConfig('tsconfig.json');
  const { output } = await cruise(['workflows/index.ts'], { ...options, tsConfig: { fileName: 'tsconfig.json' } }, {}, { tsConfig });
  return output.modules.map((m) => m.source).filter((source) => source.endsWith('.ts') && !source.startsWith('node_modules/'));
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'console/dist/**', '.tools/**', '.services/**', 'data/**', 'bench/results/**', '**/*.mjs', '**/*.js'] },
  {
    files: ['**/*.ts', 'console/**/*.tsx'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended, prettier],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'object-shorthand': ['error', 'always'],
    },
  },
  {
    // Everything in the workflow bundle: Node built-ins and packages other than Temporal's workflow-safe ones are
    // out (type-only imports are erased, so they stay allowed).
    files: ['workflows/**/*.ts', ...(await workflowBundleFiles())],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'workflow code runs in a deterministic sandbox: no Node built-ins',
            allowTypeImports: true,
          })),
          patterns: [
            {
              regex: '^(?!\\.|@temporalio/(workflow|common)(/|$))',
              message: 'workflow code runs in a deterministic sandbox: only @temporalio/workflow and @temporalio/common among packages',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
