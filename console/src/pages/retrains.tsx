import { describeAsk } from '../asks';
import { DataTable, type Column } from '../components/DataTable';
import { Badge, Loading } from '../components/Status';
import { ago, time } from '../format';
import { useApi } from '../hooks';
import { pageHref, type PageProps } from '../page';
import type { ModelDetailAnswer, RetrainOutcome, RetrainRequestView } from '../wire';

export const outcomeTone = (outcome: RetrainOutcome): 'ok' | 'warn' | 'bad' | 'info' | 'muted' =>
  outcome === 'started' ? 'ok' : outcome === 'joined' ? 'info' : outcome === 'pending' ? 'warn' : 'muted';

/** Every ask for a retrain of a model: who or what asked, what came of it, its repeats, and the version it made. */
export function RetrainsPage({ params: [name] }: PageProps) {
  const requests = useApi<{ requests: RetrainRequestView[] }>(`/models/${encodeURIComponent(name)}/retrain-requests`, { pollMs: 5000 });
  const model = useApi<ModelDetailAnswer>(`/models/${encodeURIComponent(name)}`, { pollMs: 10_000 });
  const versionOfRun = new Map((model.data?.versions ?? []).map((v) => [v.runId, v.version]));

  return (
    <Loading state={requests}>
      {(answer) => {
        const repeats = new Map<number, number[]>();
        for (const r of answer.requests)
          if (r.duplicateOf != null) repeats.set(r.duplicateOf, [...(repeats.get(r.duplicateOf) ?? []), r.id]);
        const columns: Column<RetrainRequestView>[] = [
          {
            label: 'Request',
            cell: (r) => (
              <>
                <span id={`request-${r.id}`}>#{r.id}</span>
                <span class="sub" title={time(r.createdAt)}>
                  {ago(r.createdAt)}
                </span>
              </>
            ),
          },
          {
            label: 'Who or what asked',
            cell: (r) => (
              <>
                <Badge tone="info">{r.trigger}</Badge>
                <span class="sub">{describeAsk(r).who}</span>
              </>
            ),
          },
          { label: 'What', cell: (r) => <span class="wrap-text">{describeAsk(r).what}</span> },
          {
            label: 'Outcome',
            cell: (r) => (
              <span title={r.reason}>
                <Badge tone={outcomeTone(r.outcome)}>{r.outcome}</Badge>
                {r.coverage && <span class="muted"> {r.coverage === 'this-run' ? 'in this run' : 'by its follow-up run'}</span>}
              </span>
            ),
          },
          {
            label: 'Duplicates',
            cell: (r) =>
              r.duplicateOf != null ? (
                <a href={`#request-${r.duplicateOf}`}>repeat of #{r.duplicateOf}</a>
              ) : repeats.has(r.id) ? (
                `${repeats.get(r.id)!.length} repeat${repeats.get(r.id)!.length > 1 ? 's' : ''}: ${repeats
                  .get(r.id)!
                  .map((id) => `#${id}`)
                  .join(', ')}`
              ) : (
                <span class="muted">none</span>
              ),
          },
          {
            label: 'Run',
            cell: (r) =>
              r.links ? (
                <a href={r.links.ui} target="_blank" rel="noopener" title={`${r.workflowId} / ${r.runId}`}>
                  Web UI
                </a>
              ) : (
                <span class="muted">none</span>
              ),
          },
          {
            label: 'Version it made',
            cell: (r) => {
              const made = r.runId ? versionOfRun.get(r.runId) : undefined;
              if (made != null) return <a href={pageHref('models', name, 'versions', made)}>v{made}</a>;
              if (r.coverage === 'follow-up-run') return <span class="muted">its follow-up run's</span>;
              return <span class="muted">{r.runId ? 'none (yet)' : '–'}</span>;
            },
          },
        ];
        return (
          <>
            <p class="toolbar">
              <a href={pageHref('models', name)}>Model {name}</a>
              <span class="muted" aria-live="polite">
                {answer.requests.length} requests · updated every 5 s
              </span>
            </p>
            <DataTable
              caption="Retrain requests"
              columns={columns}
              rows={[...answer.requests].sort((a, b) => b.id - a.id)}
              rowKey={(r) => r.id}
              empty="No retrain was asked for this model yet: asks come from the drift monitor, Grafana alerts, the CLI and the Admin page."
            />
          </>
        );
      }}
    </Loading>
  );
}

/** `#/retrains`: every model's retrain requests, one section per model. */
export function AllRetrainsPage({ query }: PageProps) {
  const models = useApi<{ models: { name: string }[] }>('/models', { pollMs: 30_000 });
  return (
    <Loading state={models}>
      {({ models: list }) =>
        list.length === 0 ? (
          <p class="muted">No models yet: a model exists once its training config is saved (Admin) or a version is registered.</p>
        ) : (
          list.map((m) => (
            <section key={m.name} aria-labelledby={`retrains-${m.name}`}>
              <h2 id={`retrains-${m.name}`}>{m.name}</h2>
              <RetrainsPage params={[m.name]} query={query} />
            </section>
          ))
        )
      }
    </Loading>
  );
}
