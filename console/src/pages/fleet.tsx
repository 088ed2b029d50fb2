import { useState } from 'preact/hooks';
import { withQuery } from '../api';
import { DataTable, type Column } from '../components/DataTable';
import { Sparkline } from '../components/Sparkline';
import { Badge, Loading } from '../components/Status';
import { ago, mm, num, time, version } from '../format';
import { pageHref } from '../page';
import { useApi } from '../hooks';
import type { AnnotationListAnswer } from '../../../contracts/http/access';
import type { FleetAnswer, FleetRow } from '../wire';

const POLL_MS = 3000;

/** Mean error now against the 5 minutes before: up is worse. */
function Trend({ row }: { row: FleetRow }) {
  const { last5m, previous5m } = row.meanError;
  if (last5m == null || previous5m == null || previous5m === 0) return null;
  const change = (last5m - previous5m) / previous5m;
  if (Math.abs(change) < 0.05)
    return (
      <span class="trend flat" title="within 5 % of the 5 minutes before">
        →
      </span>
    );
  return (
    <span class={`trend ${change > 0 ? 'worse' : 'better'}`} title={`${(change * 100).toFixed(0)} % against the 5 minutes before`}>
      {change > 0 ? '↑' : '↓'} {Math.abs(change * 100).toFixed(0)} %
    </span>
  );
}

export function verdictTone(verdict: string | undefined): 'ok' | 'warn' | 'bad' | 'muted' {
  if (!verdict) return 'muted';
  if (verdict === 'ok' || verdict === 'no-drift') return 'ok';
  if (verdict === 'harmless-drift') return 'warn';
  if (verdict.includes('drift') || verdict.includes('shift')) return 'bad';
  return 'warn';
}

/** The markers people and the demo left (POST /annotations): what happened to the fleet, newest first. */
function RecentEvents() {
  const events = useApi<AnnotationListAnswer>('/annotations?limit=8', { pollMs: POLL_MS * 5 });
  return (
    <section class="panel" aria-labelledby="events-title">
      <h2 id="events-title">Recent events</h2>
      <Loading state={events}>
        {({ annotations }) =>
          annotations.length === 0 ? (
            <p class="muted">No events yet: the demo marks each phase here, and POST /annotations adds one.</p>
          ) : (
            <ul class="timeline">
              {annotations.map((a) => (
                <li key={a.id}>
                  <span class="muted">{time(a.time)}</span>{' '}
                  {a.deployment && <a href={pageHref('deployments', a.deployment)}>{a.deployment}</a>} {a.text}{' '}
                  <span class="muted">by {a.by}</span>
                </li>
              ))}
            </ul>
          )
        }
      </Loading>
    </section>
  );
}

export function FleetPage() {
  const [after, setAfter] = useState<string[]>([]);
  const [picked, setPicked] = useState<string[]>([]);
  const page = useApi<FleetAnswer>(withQuery('/fleet', { after: after.at(-1) }), { pollMs: POLL_MS });

  const toggle = (id: string) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p.slice(-1), id]));

  const columns: Column<FleetRow>[] = [
    {
      label: 'Pick',
      cell: (r) => (
        <input type="checkbox" aria-label={`pick ${r.id} to compare`} checked={picked.includes(r.id)} onChange={() => toggle(r.id)} />
      ),
    },
    {
      label: 'Deployment',
      cell: (r) => (
        <>
          <a href={pageHref('deployments', r.id)}>{r.id}</a>
          <span class="sub">
            <a href={pageHref('models', r.modelName)}>{r.modelName}</a>
          </span>
        </>
      ),
    },
    {
      label: 'Serving',
      cell: (r) => (
        <>
          {version(r.servingVersion)} <span class="muted">({version(r.modelVersion)})</span>
          <span class="sub">
            {r.strategy}
            {r.rollout && (
              <>
                {' '}
                <a href={pageHref('rollouts', r.id)}>
                  <Badge tone="info">
                    {r.rollout.stage} v{r.rollout.candidateVersion}
                  </Badge>
                </a>
              </>
            )}
          </span>
        </>
      ),
    },
    {
      label: 'Frames/s',
      numeric: true,
      cell: (r) => (
        <>
          <span data-field="fps">{num(r.framesPerSecond, 2)}</span>
          <span class="sub">last {ago(r.lastFrameAt)}</span>
        </>
      ),
    },
    {
      label: 'Error (5 min)',
      numeric: true,
      cell: (r) => (
        <>
          <span data-field="error">{mm(r.meanError.last5m)}</span>
          <span class="sub">
            <Trend row={r} />
          </span>
        </>
      ),
    },
    { label: 'Last 30 min', cell: (r) => <Sparkline points={r.sparkline} label={`mean error per minute of ${r.id}`} /> },
    {
      label: 'Drift check',
      cell: (r) =>
        r.lastDrift ? (
          <>
            <a href={`#/drift?deployment=${encodeURIComponent(r.id)}`}>
              <Badge tone={verdictTone(r.lastDrift.verdict)}>{r.lastDrift.verdict}</Badge>
            </a>
            <span class="sub">{ago(r.lastDrift.time)}</span>
          </>
        ) : (
          <span class="muted">none</span>
        ),
    },
    {
      label: 'Rovers',
      numeric: true,
      cell: (r) => (
        <>
          <span title={r.rovers.join(', ') || 'no rovers'}>{r.rovers.length}</span>
          {r.suspectRovers.length > 0 && (
            <span class="sub" title={`suspect lasers: ${r.suspectRovers.join(', ')}`}>
              <Badge tone="bad">{r.suspectRovers.length} suspect</Badge>
            </span>
          )}
        </>
      ),
    },
  ];

  return (
    <Loading state={page}>
      {(fleet) => (
        <>
          <div class="toolbar">
            <span class="muted" aria-live="polite">
              Updated {ago(fleet.at)} · every {POLL_MS / 1000} s
            </span>
            <a
              class={`button ${picked.length === 2 ? '' : 'disabled'}`}
              aria-disabled={picked.length !== 2}
              href={picked.length === 2 ? `#/compare/${picked.map(encodeURIComponent).join('/')}` : undefined}
            >
              Compare the two picked
            </a>
          </div>
          <DataTable caption="Deployments" columns={columns} rows={fleet.deployments} rowKey={(r) => r.id} empty="No deployments yet." />
          <div class="pager">
            {after.length > 0 && (
              <button type="button" onClick={() => setAfter((a) => a.slice(0, -1))}>
                Previous page
              </button>
            )}
            {fleet.next && (
              <button type="button" onClick={() => setAfter((a) => [...a, fleet.next!])}>
                Next page
              </button>
            )}
          </div>
          <RecentEvents />
        </>
      )}
    </Loading>
  );
}
