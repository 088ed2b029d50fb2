import { MAX_ASKS_PER_SIGNAL, MAX_SUMMARY_DEPLOYMENTS, type AskCoverage, type CoalescedRequests, type RetrainAsk } from './contract.js';
import { type RetrainTrigger } from '../../core/training/retrainTrigger.js';

/** Histories recorded before asks carried deployments signalled the bare trigger; the API signals batches. */
export function normalizeAsks(payload: RetrainAsk | RetrainAsk[] | RetrainTrigger): RetrainAsk[] {
  if (Array.isArray(payload)) return payload;
  return ['trigger' in payload ? payload : { trigger: payload, deployments: [] }];
}

/** Enough for the asks of the last few signals, which the API asks about right after signalling them. */
const MAX_REMEMBERED_COVERAGE = 4 * MAX_ASKS_PER_SIGNAL;

/**
 * The asks a run has answered: a summary of bounded size (an alert flood must not grow the workflow's state or
 * result), the deployments they bring into the dataset, and how each is covered. An ask is covered by a run whose
 * dataset was assembled after the ask's evidence was observed and holds the deployments it names: by this run
 * while its dataset is not assembled yet, or after that when its evidence is older than the dataset; otherwise by
 * one follow-up run, however many such asks arrive. Without `coverByEvidence` (histories recorded before asks
 * carried their evidence time) every ask after the assembly waits for the follow-up run.
 */
export class AskLedger {
  readonly summary: CoalescedRequests = { count: 0, byKind: {}, deploymentsAdded: [], lateCount: 0 };
  private readonly late: CoalescedRequests = { count: 0, byKind: {}, deploymentsAdded: [], lateCount: 0 };
  private readonly lateDeployments = new Set<string>();
  private readonly coverage = new Map<number, AskCoverage>();
  /** Workflow time the dataset was assembled at, and what it holds. */
  private dataset?: { at: number; deployments: Set<string> };

  /** `continuedFrom`: the asks a follow-up run was continued for count as this run's own. */
  constructor(
    private readonly ownDeployments: string[],
    continuedFrom: CoalescedRequests | undefined,
    private readonly coverByEvidence: boolean,
  ) {
    if (continuedFrom) Object.assign(this.summary, { ...continuedFrom, deploymentsAdded: [], lateCount: 0 });
  }

  record(ask: RetrainAsk): void {
    const coverage: AskCoverage = this.covers(ask) ? 'this-run' : 'follow-up-run';
    count(this.summary, ask);
    for (const d of ask.deployments) {
      if (this.ownDeployments.includes(d) || this.summary.deploymentsAdded.includes(d)) continue;
      if (this.dataset) this.lateDeployments.add(d);
      else if (this.summary.deploymentsAdded.length < MAX_SUMMARY_DEPLOYMENTS) this.summary.deploymentsAdded.push(d);
    }
    if (coverage === 'follow-up-run') {
      this.summary.lateCount++;
      count(this.late, ask);
    }
    if (ask.trigger.requestId !== undefined) {
      this.coverage.delete(ask.trigger.requestId);
      this.coverage.set(ask.trigger.requestId, coverage);
      if (this.coverage.size > MAX_REMEMBERED_COVERAGE) this.coverage.delete(this.coverage.keys().next().value!);
    }
  }

  private covers(ask: RetrainAsk): boolean {
    if (!this.dataset) return true;
    if (!this.coverByEvidence || ask.observedAt === undefined || ask.observedAt > this.dataset.at) return false;
    return ask.deployments.every((d) => this.dataset!.deployments.has(d));
  }

  coverageOf(requestId: number): AskCoverage | undefined {
    return this.coverage.get(requestId);
  }

  /** The run's own deployments and those the asks so far brought in; the dataset is assembled from now on. */
  closeDataset(): string[] {
    const deployments = [...this.ownDeployments, ...this.summary.deploymentsAdded];
    this.dataset = { at: Date.now(), deployments: new Set(deployments) };
    return deployments;
  }

  /** The asks the dataset does not cover, and every deployment a follow-up run must include. */
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
