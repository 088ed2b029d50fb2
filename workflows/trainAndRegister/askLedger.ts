import { MAX_SUMMARY_DEPLOYMENTS, type AskCoverage, type CoalescedRequests, type RetrainAsk, type RetrainTrigger } from './contract.js';

/** Histories recorded before asks carried deployments signalled the bare trigger. */
export function normalizeAsk(payload: RetrainAsk | RetrainTrigger): RetrainAsk {
  return 'trigger' in payload ? payload : { trigger: payload, deployments: [] };
}

const MAX_REMEMBERED_COVERAGE = 256;

/**
 * The asks a run has answered: a summary of bounded size (an alert flood must not grow the
 * workflow's state or result), the deployments they bring into the dataset, and how each is
 * covered: by this run while its dataset is not assembled yet, by a follow-up run after that.
 */
export class AskLedger {
  readonly summary: CoalescedRequests = { count: 0, byKind: {}, deploymentsAdded: [], lateCount: 0 };
  private readonly late: CoalescedRequests = { count: 0, byKind: {}, deploymentsAdded: [], lateCount: 0 };
  private readonly lateDeployments = new Set<string>();
  private readonly coverage = new Map<number, AskCoverage>();
  private datasetAssembled = false;

  /** `continuedFrom`: the asks a follow-up run was continued for count as this run's own. */
  constructor(
    private readonly ownDeployments: string[],
    continuedFrom?: CoalescedRequests,
  ) {
    if (continuedFrom) Object.assign(this.summary, { ...continuedFrom, deploymentsAdded: [], lateCount: 0 });
  }

  record(ask: RetrainAsk): void {
    const coverage: AskCoverage = this.datasetAssembled ? 'follow-up-run' : 'this-run';
    count(this.summary, ask);
    for (const d of ask.deployments) {
      if (this.ownDeployments.includes(d) || this.summary.deploymentsAdded.includes(d)) continue;
      if (this.datasetAssembled) this.lateDeployments.add(d);
      else if (this.summary.deploymentsAdded.length < MAX_SUMMARY_DEPLOYMENTS) this.summary.deploymentsAdded.push(d);
    }
    if (coverage === 'follow-up-run') {
      this.summary.lateCount++;
      count(this.late, ask);
    }
    if (ask.trigger.requestId !== undefined) {
      this.coverage.set(ask.trigger.requestId, coverage);
      if (this.coverage.size > MAX_REMEMBERED_COVERAGE) this.coverage.delete(this.coverage.keys().next().value!);
    }
  }

  coverageOf(requestId: number): AskCoverage | undefined {
    return this.coverage.get(requestId);
  }

  /** The run's own deployments and those the asks so far brought in; later asks wait for a follow-up run. */
  closeDataset(): string[] {
    this.datasetAssembled = true;
    return [...this.ownDeployments, ...this.summary.deploymentsAdded];
  }

  /** The asks that arrived after the dataset was assembled, and every deployment a follow-up run must include. */
  followUp(): { asks: CoalescedRequests; deployments: string[] } | undefined {
    if (this.late.count === 0) return undefined;
    const deployments = [...new Set([...this.ownDeployments, ...this.summary.deploymentsAdded, ...this.lateDeployments])];
    return { asks: { ...this.late, deploymentsAdded: [...this.lateDeployments].slice(0, MAX_SUMMARY_DEPLOYMENTS) }, deployments };
  }
}

function count(summary: CoalescedRequests, ask: RetrainAsk) {
  const ref = { kind: ask.trigger.kind, by: ask.trigger.by, requestId: ask.trigger.requestId };
  summary.count++;
  summary.byKind[ask.trigger.kind] = (summary.byKind[ask.trigger.kind] ?? 0) + 1;
  summary.first ??= ref;
  summary.last = ref;
}
