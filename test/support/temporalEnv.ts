import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { MODEL_NAME_ATTRIBUTE, TRIGGER_ATTRIBUTE } from '../../workflows/trainAndRegister/contract.js';

export const temporalBinary = path.resolve('.tools/bin/temporal');

/** A real Temporal dev server (the `temporal` CLI the setup installs) on free ports. Missing binary is a failure, never a skip. */
export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  if (!fs.existsSync(temporalBinary)) throw new Error(`${temporalBinary} is missing: run scripts/setup.sh (it installs the temporal CLI)`);
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBinary },
      searchAttributes: [MODEL_NAME_ATTRIBUTE, TRIGGER_ATTRIBUTE],
      extraArgs: ['--headless'],
    },
  });
}
