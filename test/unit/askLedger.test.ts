import { describe, expect, it } from 'vitest';
import { AskLedger } from '../../workflows/trainAndRegister/askLedger.js';
import type { RetrainAsk } from '../../workflows/trainAndRegister/contract.js';

const ask = (requestId: number, deployments: string[], observedAt?: number): RetrainAsk => ({
  trigger: { kind: 'grafana', by: `alert-${requestId}`, requestId },
  deployments,
  ...(observedAt === undefined ? {} : { observedAt }),
});

/** An ask is covered by a run whose dataset was assembled after its evidence was observed (and holds its deployments). */
describe('AskLedger', () => {
  it('covers asks that arrive after the assembly but were observed before it, and books a follow-up for the rest', () => {
    const ledger = new AskLedger(['d1'], undefined, true);
    ledger.record(ask(1, ['d1', 'd2'], Date.now() - 60_000));
    const assembledAt = Date.now();
    expect(ledger.closeDataset()).toEqual(['d1', 'd2']);
    ledger.record(ask(2, ['d1', 'd2'], assembledAt - 1000));
    ledger.record(ask(3, ['d1', 'd2'], assembledAt));
    expect([2, 3].map((id) => ledger.coverageOf(id))).toEqual(['this-run', 'this-run']);
    expect(ledger.followUp()).toBeUndefined();
    // Observed after the assembly, naming a deployment the dataset lacks, or without an evidence time: a follow-up.
    ledger.record(ask(4, ['d1'], assembledAt + 60_000));
    ledger.record(ask(5, ['d3'], assembledAt - 1000));
    ledger.record(ask(6, ['d1']));
    expect([4, 5, 6].map((id) => ledger.coverageOf(id))).toEqual(['follow-up-run', 'follow-up-run', 'follow-up-run']);
    expect(ledger.followUp()).toMatchObject({ asks: { count: 3 }, deployments: ['d1', 'd2', 'd3'] });
    expect(ledger.summary).toMatchObject({ count: 6, lateCount: 3 });
  });

  it('books a follow-up for every ask after the assembly in histories recorded before asks carried their evidence time', () => {
    const ledger = new AskLedger(['d1'], undefined, false);
    ledger.closeDataset();
    ledger.record(ask(1, ['d1'], Date.now() - 60_000));
    expect(ledger.coverageOf(1)).toBe('follow-up-run');
    expect(ledger.followUp()?.asks.count).toBe(1);
  });

  it('remembers the coverage of the last asks only, however many arrive', () => {
    const ledger = new AskLedger(['d1'], undefined, true);
    for (let id = 1; id <= 10_000; id++) ledger.record(ask(id, ['d1'], 0));
    expect(ledger.coverageOf(10_000)).toBe('this-run');
    expect(ledger.coverageOf(9_000)).toBe('this-run');
    expect(ledger.coverageOf(1)).toBeUndefined();
    expect(JSON.stringify(ledger.summary).length).toBeLessThan(500);
  });
});
