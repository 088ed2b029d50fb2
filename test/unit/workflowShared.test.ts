import { describe, expect, it } from 'vitest';
import * as workflows from '../../workflows/index.js';
import { SEARCH_ATTRIBUTES, WORKFLOW_TYPES } from '../../workflows/shared.js';
import type { RolloutWorkflow } from '../../workflows/rollout/contract.js';
import type { TrainAndRegisterWorkflow } from '../../workflows/trainAndRegister/contract.js';

describe('workflows/shared.ts', () => {
  it('names every workflow the bundle exports, by the name Temporal registers it under', () => {
    expect(Object.values(WORKFLOW_TYPES).sort()).toEqual(Object.keys(workflows).sort());
    for (const name of Object.values(WORKFLOW_TYPES)) expect((workflows as Record<string, { name: string }>)[name].name).toBe(name);
  });

  it('lists each search attribute once, all keywords (the dev server and init-namespace.sh register them as such)', () => {
    expect(new Set(SEARCH_ATTRIBUTES.map((key) => key.name)).size).toBe(SEARCH_ATTRIBUTES.length);
    expect(SEARCH_ATTRIBUTES.every((key) => key.type === 'KEYWORD')).toBe(true);
  });
});

// Clients type a workflow's arguments by its contract's signature; each workflow must have that signature.
export const signatures: [TrainAndRegisterWorkflow, RolloutWorkflow] = [workflows.TrainAndRegister, workflows.Rollout];
