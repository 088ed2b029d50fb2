import { WhenVisible } from '../components/WhenVisible';
import { RoverSensors } from '../components/RoverSensors';
import { ParkingSuccess } from '../components/ParkingSuccess';
import { Card } from '../components/Card';
import { useMemo, useState } from 'preact/hooks';
import { withQuery } from '../api';
import { ActionButton } from '../components/ActionButton';
import { FrameThumbs, Histogram, PredictionScatter, SeriesCharts } from '../components/MeasureCharts';
import { Badge, Loading, Problem } from '../components/Status';
import { CHARACTERISTIC_FIELDS, MEASURED_FIELDS } from '../fields';
import { ago, mm, time, version } from '../format';
import { useApi, type Loaded } from '../hooks';
import {
  REASON_LABELS,
  TIME_RANGES,
  seriesQuery,
  timeRange,
  timeline,
  type TimeRange,
  type TimelineEntry,
  useTimeRange,
} from '../measures';
import { pageHref, type PageProps } from '../page';
import { useSession, actor } from '../session';
import type {
  AnnotationsAnswer,
  DeploymentDetailAnswer,
  DeploymentListAnswer,
  DeploymentStatsAnswer,
  FramesAnswer,
  HistogramAnswer,
  SeriesAnswer,
  ServingHistoryAnswer,
} from '../wire';

export const LIVE_MS = 5000;
const THUMBNAILS = 8;
const SCATTER_FRAMES = 2000;

const base = (id: string) => `/deployments/${encodeURIComponent(id)}`;

/** A deployment's series over a range ending now, polled; the window moves on one bucket at a time. */
export function useSeries(id: string, range: TimeRange): { state: Loaded<SeriesAnswer>; domain: [Date, Date] } {
  const now = Date.now();
  const query = seriesQuery(range, now);
  const state = useApi<SeriesAnswer>(withQuery(`${base(id)}/series`, query), { pollMs: LIVE_MS });
  const since = Date.parse(query.since);
  // The domain moves with the query (not with every render), so the axis does not creep between polls.
  const domain = useMemo(() => [new Date(since), new Date(since + range.ms + range.stepMs)] as [Date, Date], [since, range]);
  return { state, domain };
}

/** Annotations of a deployment, or none while the server has no annotations route (404). */
export function useAnnotations(id: string): AnnotationsAnswer['annotations'] {
  const state = useApi<AnnotationsAnswer>(withQuery('/annotations', { deployment: id, limit: 200 }), { pollMs: 30_000 });
  return state.data?.annotations ?? [];
}

export function RangeSelect({ value, onChange, id }: { value: TimeRange; onChange: (range: TimeRange) => void; id: string }) {
  return (
    <span class="field">
      <label for={id}>Range</label>
      <select id={id} value={value.key} onChange={(e) => onChange(timeRange(e.currentTarget.value))}>
        {TIME_RANGES.map((r) => (
          <option value={r.key}>{r.label}</option>
        ))}
      </select>
    </span>
  );
}

export function FieldSelect({
  value,
  onChange,
  id,
  only,
}: {
  value: string;
  onChange: (field: string) => void;
  id: string;
  only?: 'characteristics';
}) {
  return (
    <span class="field">
      <label for={id}>Field</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {!only && (
          <optgroup label="Measured">
            {MEASURED_FIELDS.map((f) => (
              <option value={f.field}>{f.label}</option>
            ))}
          </optgroup>
        )}
        <optgroup label="Image characteristics">
          {CHARACTERISTIC_FIELDS.map((f) => (
            <option value={f.field}>{f.label}</option>
          ))}
        </optgroup>
      </select>
    </span>
  );
}

/** The headline numbers of a deployment (every frame it has), polled. */
export function Headlines({ id, detail, brief }: { id: string; detail?: DeploymentDetailAnswer; brief?: boolean }) {
  const stats = useApi<DeploymentStatsAnswer>(`${base(id)}/stats`, { pollMs: LIVE_MS });
  const s = stats.data?.stats;
  return (
    <>
      {stats.error && <Problem text={`Statistics: ${stats.error.message}`} />}
      <div class="cards" aria-live="polite">
        <Card
          label="Frames"
          value={s ? s.count.toLocaleString() : '–'}
          note={s ? `${s.labelledCount.toLocaleString()} with a laser reading` : undefined}
        />
        <Card label="Mean error" value={mm(s?.meanError)} note={s ? `max ${mm(s.maxError)}` : undefined} />
        {!brief && <Card label="Laser range" value={s?.sensorMin != null ? `${s.sensorMin.toFixed(0)}–${mm(s.sensorMax, 0)}` : '–'} />}
        <Card
          label="Serving version"
          value={detail ? version(detail.serving.version) : '–'}
          note={detail ? `${detail.serving.modelName} · ${detail.serving.how}` : undefined}
        />
      </div>
    </>
  );
}

function Facts({ detail }: { detail: DeploymentDetailAnswer }) {
  const { deployment, serving, clients } = detail;
  const rollout = deployment.rollout;
  return (
    <dl class="facts">
      <dt>Model</dt>
      <dd>
        <a href={pageHref('models', deployment.modelName)}>{deployment.modelName}</a>
      </dd>
      <dt>Version setting</dt>
      <dd>
        {deployment.modelVersion === 'latest' ? 'latest (follows each new version)' : `pinned to ${version(deployment.modelVersion)}`}
      </dd>
      <dt>Serving</dt>
      <dd>
        {serving.version == null ? (
          'no version yet'
        ) : (
          <a href={pageHref('models', serving.modelName, 'versions', serving.version)}>{version(serving.version)}</a>
        )}{' '}
        <span class="muted">({serving.how})</span>
      </dd>
      <dt>Strategy</dt>
      <dd>{deployment.strategy}</dd>
      <dt>Rollout</dt>
      <dd>
        {rollout ? (
          <>
            <Badge tone="info">{rollout.stage}</Badge> candidate {version(rollout.candidateVersion)} since {ago(rollout.stageStartedAt)}
            {rollout.canaryClients.length > 0 && ` for ${rollout.canaryClients.length} of ${clients.length} rovers`}{' '}
            <a href={pageHref('rollouts', deployment.id)}>follow the rollout</a>
          </>
        ) : (
          <span class="muted">none running</span>
        )}
      </dd>
      <dt>Rovers</dt>
      <dd>{clients.length ? clients.join(', ') : <span class="muted">none assigned</span>}</dd>
      <dt>Created</dt>
      <dd>{time(deployment.createdAt)}</dd>
    </dl>
  );
}

function TimelineItem({ entry }: { entry: TimelineEntry }) {
  if (entry.kind === 'annotation') {
    const a = entry.annotation;
    return (
      <li class="note">
        <time dateTime={a.time}>{time(a.time)}</time> <Badge tone="warn">annotation</Badge> {a.text}{' '}
        <span class="muted">
          by {a.by}
          {a.deployment == null ? ' · fleet-wide' : ''}
          {a.tags.length ? ` · ${a.tags.join(', ')}` : ''}
        </span>
      </li>
    );
  }
  const c = entry.change;
  const tone = c.reason === 'rollback' || c.reason === 'rollout-rolled-back' ? 'bad' : c.kind === 'rollout-stage' ? 'info' : 'ok';
  return (
    <li class={c.kind}>
      <time dateTime={c.at}>{time(c.at)}</time> <Badge tone={tone}>{REASON_LABELS[c.reason] ?? c.reason}</Badge> {c.summary}
    </li>
  );
}

function ServingTimeline({
  history,
  annotations,
}: {
  history: Loaded<ServingHistoryAnswer>;
  annotations: AnnotationsAnswer['annotations'];
}) {
  return (
    <Loading state={history}>
      {(answer) => {
        const entries = timeline(answer.history, annotations);
        return entries.length === 0 ? (
          <p class="muted">No serving changes recorded: a deployment's history starts at its creation.</p>
        ) : (
          <ol class="timeline" aria-label="serving changes and annotations, newest first">
            {entries.map((e) => (
              <TimelineItem key={e.key} entry={e} />
            ))}
          </ol>
        );
      }}
    </Loading>
  );
}

function CompareWith({ id }: { id: string }) {
  const list = useApi<DeploymentListAnswer>('/deployments');
  const others = (list.data?.deployments ?? []).filter((d) => d.id !== id);
  const [other, setOther] = useState('');
  const chosen = other || others[0]?.id || '';
  return (
    <span class="compare-with">
      <label for="compare-with">Compare with</label>
      <select id="compare-with" value={chosen} onChange={(e) => setOther(e.currentTarget.value)} disabled={others.length === 0}>
        {others.length === 0 && <option value="">no other deployment</option>}
        {others.map((d) => (
          <option value={d.id}>{d.id}</option>
        ))}
      </select>
      <a class={`button ${chosen ? '' : 'disabled'}`} aria-disabled={!chosen} href={chosen ? pageHref('compare', id, chosen) : undefined}>
        Compare
      </a>
    </span>
  );
}

/*
 * The sections below the first screen load when they come near it (components/WhenVisible.tsx): with 100k frames
 * each is a scan of the deployment, and the time series on the first screen should not wait behind them.
 */
function ScatterOf({ id }: { id: string }) {
  const scatter = useApi<FramesAnswer>(withQuery(`${base(id)}/frames`, { limit: SCATTER_FRAMES }), { pollMs: 30_000 });
  return <Loading state={scatter}>{(answer) => <PredictionScatter frames={answer.frames} name={id} />}</Loading>;
}

function HistogramOf({ id, field }: { id: string; field: string }) {
  const histogram = useApi<HistogramAnswer>(withQuery(`${base(id)}/histogram`, { field, bins: 30 }));
  return <Loading state={histogram}>{(answer) => <Histogram answer={answer} name={id} height={340} />}</Loading>;
}

function RecentFramesOf({ id }: { id: string }) {
  const recent = useApi<FramesAnswer>(withQuery(`${base(id)}/frames`, { limit: THUMBNAILS }), { pollMs: LIVE_MS * 2 });
  return <Loading state={recent}>{(answer) => <FrameThumbs frames={answer.frames} />}</Loading>;
}

export function DeploymentPage({ params: [id], query }: PageProps) {
  const session = useSession();
  const [range, setRange] = useTimeRange(query);
  const [field, setField] = useState('error');
  const detail = useApi<DeploymentDetailAnswer>(base(id), { pollMs: LIVE_MS });
  const history = useApi<ServingHistoryAnswer>(withQuery(`${base(id)}/serving-history`, { limit: 50 }), { pollMs: 15_000 });
  const annotations = useAnnotations(id);
  const { state: series, domain } = useSeries(id, range);

  if (detail.error?.status === 404) return <Problem text={`No deployment "${id}": ${detail.error.message}`} />;

  const reloadAll = () => {
    detail.reload();
    history.reload();
  };

  return (
    <div class="deployment">
      <div class="toolbar">
        <span class="muted" aria-live="polite">
          {detail.at ? `Live: updated every ${LIVE_MS / 1000} s` : 'Loading…'}
        </span>
        <span class="toolbar-actions">
          <CompareWith id={id} />
          <ActionButton
            label="Roll back"
            path={`${base(id)}/rollback`}
            body={{ by: actor(session) }}
            confirm={`Pin ${id} to the version it served before?`}
            onDone={reloadAll}
            danger
          />
        </span>
      </div>

      {detail.error && <Problem text={detail.error.message} />}
      <Headlines id={id} detail={detail.data} />

      <div class="grid deployment-top">
        <section class="panel" aria-labelledby="facts-h">
          <h2 id="facts-h">Facts</h2>
          {detail.data ? <Facts detail={detail.data} /> : <p class="loading">Loading…</p>}
        </section>
        <section class="panel" aria-labelledby="history-h">
          <h2 id="history-h">Serving history</h2>
          <div class="scroll-box">
            <ServingTimeline history={history} annotations={annotations} />
          </div>
        </section>
      </div>

      <section class="panel" aria-labelledby="sensors-h">
        <h2 id="sensors-h">Rovers' lasers</h2>
        <RoverSensors id={id} pollMs={15_000} />
        <p class="muted chart-note">
          A suspect laser's frames stay stored but leave training sets, drift checks and rollout evidence until it is cleared.
        </p>
      </section>

      <section class="panel" aria-labelledby="parking-h">
        <h2 id="parking-h">Parking success</h2>
        <ParkingSuccess id={id} pollMs={15_000} />
        <p class="muted chart-note">
          Runs the rovers reported, parked when they stopped 0-20 mm from the wall; the laser alone is the baseline the model is measured
          against.
        </p>
      </section>

      <section class="panel" aria-labelledby="series-h">
        <div class="section-head">
          <h2 id="series-h">Error and prediction against the laser</h2>
          <RangeSelect id="series-range" value={range} onChange={setRange} />
        </div>
        <Loading state={series}>
          {(answer) => <SeriesCharts points={answer.points} domain={domain} annotations={annotations} name={id} />}
        </Loading>
        <p class="muted chart-note">
          Means per {range.stepMs / 1000 >= 60 ? `${range.stepMs / 60_000} min` : `${range.stepMs / 1000} s`} over the {range.label}; dashed
          lines are annotations.
        </p>
      </section>

      <div class="grid">
        <section class="panel" aria-labelledby="scatter-h">
          <h2 id="scatter-h">Prediction against the laser</h2>
          <WhenVisible>
            <ScatterOf id={id} />
          </WhenVisible>
        </section>
        <section class="panel" aria-labelledby="hist-h">
          <div class="section-head">
            <h2 id="hist-h">Distributions</h2>
            <FieldSelect id="hist-field" value={field} onChange={setField} />
          </div>
          <WhenVisible>
            <HistogramOf id={id} field={field} />
          </WhenVisible>
          <p class="muted chart-note">Every frame of the deployment, in 30 bins over the values' range.</p>
        </section>
      </div>

      <section class="panel" aria-labelledby="frames-h">
        <h2 id="frames-h">Recent frames</h2>
        <WhenVisible minHeight={180}>
          <RecentFramesOf id={id} />
        </WhenVisible>
      </section>
    </div>
  );
}
