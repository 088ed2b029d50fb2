import { WhenVisible } from '../components/WhenVisible';
import { useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { withQuery } from '../api';
import { Histogram, SeriesCharts } from '../components/MeasureCharts';
import { Loading, Problem } from '../components/Status';
import { MEASURED_FIELDS, fieldInfo } from '../fields';
import { useApi } from '../hooks';
import { binShares, sharedBinRange, sharedSeriesDomains, useTimeRange } from '../measures';
import { pageHref, type PageProps } from '../page';
import type { DeploymentDetailAnswer, HistogramAnswer } from '../wire';
import { FieldSelect, Headlines, RangeSelect, useAnnotations, useSeries } from './deployment';

const BINS = 30;

const base = (id: string) => `/deployments/${encodeURIComponent(id)}`;

/** Two cells side by side, A left and B right, at every width; `names` labels each cell with its deployment. */
function Pair({ a, b, names }: { a: ComponentChildren; b: ComponentChildren; names?: [string, string] }) {
  return (
    <div class="pair">
      <div>
        {names && <div class="side-name">{names[0]}</div>}
        {a}
      </div>
      <div>
        {names && <div class="side-name">{names[1]}</div>}
        {b}
      </div>
    </div>
  );
}

function Side({ id }: { id: string }) {
  const detail = useApi<DeploymentDetailAnswer>(base(id), { pollMs: 5000 });
  const d = detail.data?.deployment;
  return (
    <section aria-label={`deployment ${id}`}>
      <h2>
        <a href={pageHref('deployments', id)}>{id}</a>{' '}
        {d && (
          <span class="muted subtitle">
            {d.modelName} · {d.strategy}
            {d.rollout ? ` · rollout ${d.rollout.stage} v${d.rollout.candidateVersion}` : ''}
          </span>
        )}
      </h2>
      {detail.error && <Problem text={detail.error.message} />}
      <Headlines id={id} detail={detail.data} brief />
    </section>
  );
}

/**
 * One field's histogram of both deployments on the same bins and the same y scale: first each side's own range,
 * then both binned over their union (the histogram route's min and max).
 */
function HistogramPair({ a, b, field }: { a: string; b: string; field: string }) {
  const ownA = useApi<HistogramAnswer>(withQuery(`${base(a)}/histogram`, { field, bins: BINS }));
  const ownB = useApi<HistogramAnswer>(withQuery(`${base(b)}/histogram`, { field, bins: BINS }));
  const fresh = ownA.data?.field === field && ownB.data?.field === field;
  const span = fresh ? sharedBinRange([ownA.data, ownB.data]) : undefined;
  const path = (id: string) => (span ? withQuery(`${base(id)}/histogram`, { field, bins: BINS, min: span.min, max: span.max }) : null);
  const sharedA = useApi<HistogramAnswer>(path(a));
  const sharedB = useApi<HistogramAnswer>(path(b));
  // With no value on either side there is nothing to share: each side says so itself.
  const sideA = span ? sharedA : ownA;
  const sideB = span ? sharedB : ownB;
  const top = Math.max(1, ...[sideA.data, sideB.data].flatMap((h) => (h ? binShares(h).map((x) => x.share) : [])));
  const yDomain: [number, number] = [0, Math.ceil(top / 5) * 5];
  const info = fieldInfo(field);
  return (
    <>
      <h3>{info.label}</h3>
      <Pair
        names={[a, b]}
        a={<Loading state={sideA}>{(h) => <Histogram answer={h} name={a} shares yDomain={yDomain} />}</Loading>}
        b={<Loading state={sideB}>{(h) => <Histogram answer={h} name={b} shares yDomain={yDomain} />}</Loading>}
      />
    </>
  );
}

export function ComparePage({ params: [a, b], query }: PageProps) {
  const [range, setRange] = useTimeRange(query);
  const [characteristic, setCharacteristic] = useState('brightness_mean');
  const seriesA = useSeries(a, range);
  const seriesB = useSeries(b, range);
  const annotationsA = useAnnotations(a);
  const annotationsB = useAnnotations(b);
  const domains = sharedSeriesDomains([seriesA.state.data?.points, seriesB.state.data?.points]);

  return (
    <div class="compare">
      <div class="toolbar">
        <span class="muted">
          Side by side on shared scales; the time series and headline numbers update every 5 s.{' '}
          <a href={pageHref('compare', b, a)}>Swap sides</a>
        </span>
      </div>
      <Pair a={<Side id={a} />} b={<Side id={b} />} />

      <section class="panel" aria-labelledby="cmp-series-h">
        <div class="section-head">
          <h2 id="cmp-series-h">Error and prediction against the laser</h2>
          <RangeSelect id="compare-range" value={range} onChange={setRange} />
        </div>
        <Pair
          names={[a, b]}
          a={
            <Loading state={seriesA.state}>
              {(s) => (
                <SeriesCharts
                  points={s.points}
                  domain={seriesA.domain}
                  annotations={annotationsA}
                  mmDomain={domains.mm}
                  errorDomain={domains.error}
                  name={a}
                />
              )}
            </Loading>
          }
          b={
            <Loading state={seriesB.state}>
              {(s) => (
                <SeriesCharts
                  points={s.points}
                  domain={seriesB.domain}
                  annotations={annotationsB}
                  mmDomain={domains.mm}
                  errorDomain={domains.error}
                  name={b}
                />
              )}
            </Loading>
          }
        />
      </section>

      <section class="panel" aria-labelledby="cmp-dist-h">
        <div class="section-head">
          <h2 id="cmp-dist-h">Distributions</h2>
          <FieldSelect id="compare-field" value={characteristic} onChange={setCharacteristic} only="characteristics" />
        </div>
        <p class="muted chart-note">
          Every frame of each deployment, in {BINS} bins over both deployments' range, as a share of its frames (their traffic differs).
        </p>
        {[...MEASURED_FIELDS.map((f) => f.field), characteristic].map((field) => (
          <WhenVisible key={field}>
            <HistogramPair a={a} b={b} field={field} />
          </WhenVisible>
        ))}
      </section>
    </div>
  );
}
