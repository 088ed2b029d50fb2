import { Card } from '../components/Card';
import { useMemo, useState } from 'preact/hooks';
import { withQuery } from '../api';
import { ActionButton } from '../components/ActionButton';
import { Chart, Plot } from '../components/Chart';
import { DataTable, type Column } from '../components/DataTable';
import { Badge, Loading, Problem } from '../components/Status';
import { ago, num, pct, pTick, pValue, ratio, time, version } from '../format';
import { useApi } from '../hooks';
import { pageHref, type PageProps } from '../page';
import { HEAT_STATISTICS, HEATMAP_CHECKS, heatCells, P_FLOOR, type HeatStatistic } from '../evidence';
import type {
  DeploymentListAnswer,
  DriftCheckRow,
  DriftChecksAnswer,
  DriftVerdict,
  FleetAnswer,
  MonitorAnswer,
  RearmState,
  RearmStatus,
} from '../wire';

const POLL_MS = 5000;
/** Checks the page reads (newest first); the heat map shows the newest of them. */
const CHECKS = 120;

export const VERDICTS: DriftVerdict[] = ['drift', 'harmless-drift', 'no-drift', 'insufficient-data', 'no-reference', 'sensor-fault'];
const VERDICT_COLORS = ['#b3261e', '#d9822b', '#1d7a3a', '#9a6200', '#8a939e', '#6a3d9a'];
const verdictColor = { domain: VERDICTS, range: VERDICT_COLORS, legend: true, label: 'verdict' };
const toneOf = (v: DriftVerdict) =>
  v === 'drift'
    ? 'bad'
    : v === 'no-drift'
      ? 'ok'
      : v === 'insufficient-data' || v === 'sensor-fault' || v === 'harmless-drift'
        ? 'warn'
        : 'muted';

const shortTime = (iso: string) => new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

export function DriftPage({ query }: PageProps) {
  const deployments = useApi<DeploymentListAnswer>('/deployments');
  const fleet = useApi<FleetAnswer>(withQuery('/fleet', { limit: 200 }));
  const asked = query.get('deployment');
  // Until told, the first deployment the monitor has checked (the fleet knows each one's last check).
  const firstChecked = fleet.data?.deployments.find((d) => d.lastDrift)?.id;
  const chosen = asked ?? (fleet.data || fleet.error ? (firstChecked ?? deployments.data?.deployments[0]?.id) : undefined);

  return (
    <Loading state={deployments}>
      {({ deployments: all }) =>
        all.length === 0 ? (
          <p class="empty-state">
            No deployments yet: the drift monitor checks each deployment of a model with a training config. Create one on the{' '}
            <a href="#/admin">Admin</a> page.
          </p>
        ) : (
          <>
            <div class="toolbar">
              <form class="inline" onSubmit={(e) => e.preventDefault()}>
                <div>
                  <label for="drift-deployment">Deployment</label>
                  <select
                    id="drift-deployment"
                    value={chosen ?? ''}
                    onChange={(e) => (location.hash = `#/drift?deployment=${encodeURIComponent(e.currentTarget.value)}`)}
                  >
                    {chosen === undefined && <option value="">Choosing…</option>}
                    {all.map((d) => (
                      <option value={d.id}>
                        {d.id} ({d.modelName})
                      </option>
                    ))}
                  </select>
                </div>
              </form>
              {chosen && <CheckNow modelName={all.find((d) => d.id === chosen)?.modelName} />}
            </div>
            {chosen && <DeploymentDrift key={chosen} id={chosen} modelName={all.find((d) => d.id === chosen)?.modelName} />}
          </>
        )
      }
    </Loading>
  );
}

function CheckNow({ modelName }: { modelName: string | undefined }) {
  if (!modelName) return null;
  return (
    <ActionButton
      label="Check now"
      path={`/models/${encodeURIComponent(modelName)}/monitor/check`}
      confirm={`Check every deployment of ${modelName} for drift now?`}
    />
  );
}

function DeploymentDrift({ id, modelName }: { id: string; modelName: string | undefined }) {
  const checks = useApi<DriftChecksAnswer>(withQuery(`/deployments/${encodeURIComponent(id)}/drift`, { limit: CHECKS }), {
    pollMs: POLL_MS,
  });
  const monitor = useApi<MonitorAnswer>(modelName ? `/models/${encodeURIComponent(modelName)}/monitor` : null, { pollMs: 15_000 });
  if (checks.error?.status === 404) return <Problem text={checks.error.message} />;
  return (
    <Loading state={checks}>
      {({ checks: rows }) =>
        rows.length === 0 ? (
          <p class="empty-state">
            No drift checks of <strong>{id}</strong> yet. The monitor checks every deployment of a model with a training config once a
            minute (Admin: Training config, Drift monitor); “Check now” asks for one at once.
            {monitor.data && !monitor.data.config.enabled && ' The monitor of this model is turned off.'}
            {monitor.error && ` ${monitor.error.message}.`}
          </p>
        ) : (
          <>
            <Latest check={rows[0]} monitor={monitor.data} />
            <Trends checks={rows} monitor={monitor.data} />
            <Heatmap checks={rows} />
            <ChecksTable checks={rows} />
          </>
        )
      }
    </Loading>
  );
}

function Latest({ check, monitor }: { check: DriftCheckRow; monitor: MonitorAnswer | undefined }) {
  return (
    <div class="cards" aria-label="The last check">
      <Card
        label="Last check"
        value={
          <>
            <Badge tone={toneOf(check.verdict)}>{check.verdict}</Badge>
          </>
        }
        note={
          <>
            {ago(check.time)} · {version(check.modelVersion)}
          </>
        }
      />
      <Card
        label="Frames in the window"
        value={<>{check.windowFrames.toLocaleString()}</>}
        note={<>at least {monitor?.config.minFrames ?? '–'} to decide</>}
      />
      <Card
        label="Live / test mean error"
        value={<>{ratio(check.performance?.errorRatio)}</>}
        note={
          <>
            {check.performance
              ? `${num(check.performance.liveMeanErrorMm, 1)} vs ${num(check.performance.referenceMeanErrorMm, 1)} mm`
              : 'not tested'}
          </>
        }
      />
      <Card
        label="Characteristics drifted"
        value={<>{check.covariate ? `${check.covariate.driftedFeatures.length} of ${check.covariate.testedFeatures}` : '–'}</>}
        note={<>{check.covariate ? pct(check.covariate.driftedShare) : 'not tested'}</>}
      />
      <Card
        label="Laser readings out of range"
        value={<>{pct(check.label?.outOfRangeShare)}</>}
        note={<>{check.label ? `label shift p = ${pValue(check.label.pValue)}` : 'not tested'}</>}
      />
      <Rearm deployment={check.deployment} rearm={monitor?.rearm} />
    </div>
  );
}

const REARM_TONES: Record<RearmState, 'ok' | 'warn' | 'bad' | 'muted'> = {
  armed: 'warn',
  waiting: 'muted',
  capped: 'bad',
  'run-in-progress': 'muted',
  registered: 'ok',
  unknown: 'warn',
  off: 'muted',
};

/** Whether the monitor asks again for this deployment's drift (its retrain registered nothing), and the model's cap per day. */
function Rearm({ deployment, rearm }: { deployment: string; rearm: RearmStatus | undefined }) {
  if (!rearm) return null;
  const drift = rearm.drifts.find((d) => d.deployment === deployment);
  return (
    <Card
      label="Re-asks of the model (24 h)"
      value={
        <>
          {rearm.reasksToday.length} of {rearm.maxPerDay}
          {drift && (
            <>
              {' '}
              <Badge tone={REARM_TONES[drift.state]}>{drift.state}</Badge>
            </>
          )}
        </>
      }
      note={
        drift ? (
          <span title={drift.reason}>
            request {drift.lastRequestId}
            {drift.attempt > 0 ? ` (re-ask ${drift.attempt} of ${drift.firstRequestId})` : ''}
            {drift.framesNeeded !== null
              ? ` · ${drift.newFrames.toLocaleString()} of ${drift.framesNeeded.toLocaleString()} new frames`
              : ''}
            {drift.state === 'capped' && drift.capFreesAt ? ` · until ${shortTime(drift.capFreesAt)}` : ''}
            {drift.state === 'waiting' ? ` · back-off until ${shortTime(drift.backoffUntil)}` : ''}
          </span>
        ) : (
          <>no drift here waits to be asked again</>
        )
      }
    />
  );
}

/** A time axis of at least two minutes: a single check gets an axis of times around it, not one raw tick. */
function paddedTimes(first: Date, last: Date): [Date, Date] {
  const pad = Math.max(0, 120_000 - (last.getTime() - first.getTime())) / 2;
  return [new Date(first.getTime() - pad), new Date(last.getTime() + pad)];
}

/** The deciding statistics of each check over time, with their thresholds and each check's verdict. */
function Trends({ checks, monitor }: { checks: DriftCheckRow[]; monitor: MonitorAnswer | undefined }) {
  const config = monitor?.config;
  const charts = useMemo(() => {
    const at = (c: DriftCheckRow) => new Date(c.time);
    const x = {
      type: 'utc' as const,
      label: 'time of the check',
      labelAnchor: 'center' as const,
      labelArrow: 'none' as const,
      domain: paddedTimes(at(checks.at(-1)!), at(checks[0])),
      nice: false,
    };
    const tip = (c: DriftCheckRow) => `${time(c.time)}\n${c.verdict}\n${c.summary}`;
    const verdicts: Plot.PlotOptions = {
      height: 140,
      marginLeft: 110,
      marginBottom: 44,
      x,
      y: { domain: VERDICTS, label: null },
      color: verdictColor,
      marks: [Plot.dot(checks, { x: at, y: 'verdict', fill: 'verdict', r: 4.5, title: tip }), Plot.gridY({ strokeOpacity: 0.15 })],
    };
    const withPerformance = checks.filter((c) => c.performance);
    const errorRatio: Plot.PlotOptions = {
      height: 250,
      marginLeft: 50,
      marginBottom: 44,
      x,
      y: { label: 'live / test mean error (×)', zero: true, grid: true },
      color: verdictColor,
      marks: [
        Plot.ruleY([1], { stroke: '#8a939e' }),
        config ? Plot.ruleY([config.performance.minErrorRatio], { stroke: '#b3261e', strokeDasharray: '4 3' }) : null,
        config
          ? Plot.text([config.performance.minErrorRatio], {
              y: (d: number) => d,
              frameAnchor: 'left',
              dy: -7,
              text: (d: number) => `threshold ${d}×`,
              fill: '#b3261e',
            })
          : null,
        Plot.line(withPerformance, { x: at, y: (c: DriftCheckRow) => c.performance!.errorRatio, stroke: '#5b6470' }),
        Plot.dot(withPerformance, { x: at, y: (c: DriftCheckRow) => c.performance!.errorRatio, fill: 'verdict', r: 3.5, title: tip }),
      ],
    };
    const shares = [
      ...checks
        .filter((c) => c.covariate)
        .map((c) => ({ time: at(c), series: 'characteristics drifted', value: c.covariate!.driftedShare })),
      ...checks
        .filter((c) => c.label)
        .map((c) => ({ time: at(c), series: 'laser readings out of range', value: c.label!.outOfRangeShare })),
    ];
    const shareColor = { domain: ['characteristics drifted', 'laser readings out of range'], range: ['#1f5fbf', '#7a3fb0'], legend: true };
    const thresholds = config
      ? [
          { series: 'characteristics drifted', value: config.covariate.minDriftedShare },
          { series: 'laser readings out of range', value: config.label.maxOutOfRangeShare },
        ]
      : [];
    const sharesChart: Plot.PlotOptions = {
      height: 250,
      marginLeft: 50,
      marginBottom: 44,
      x,
      y: { label: 'share (%)', percent: true, domain: [0, 100], grid: true },
      color: shareColor,
      marks: [
        Plot.ruleY(thresholds, { y: 'value', stroke: 'series', strokeDasharray: '4 3' }),
        Plot.line(shares, { x: 'time', y: 'value', stroke: 'series', z: 'series' }),
        Plot.dot(shares, { x: 'time', y: 'value', fill: 'series', r: 2.5 }),
      ],
    };
    const pValues = checks.flatMap((c) => [
      ...(c.performance ? [{ time: at(c), test: 'errors (Mann-Whitney)', p: c.performance.pValue }] : []),
      ...(c.label ? [{ time: at(c), test: 'laser labels (KS)', p: c.label.pValue }] : []),
      ...(c.covariate && Object.keys(c.covariate.features).length
        ? [
            {
              time: at(c),
              test: 'lowest characteristic (BH)',
              p: Math.min(...Object.values(c.covariate.features).map((f) => f!.adjustedP)),
            },
          ]
        : []),
    ]);
    const pChart: Plot.PlotOptions = {
      height: 250,
      marginLeft: 56,
      marginBottom: 44,
      x,
      y: { type: 'log', label: 'p-value (log)', domain: [P_FLOOR, 1], grid: true, tickFormat: pTick },
      color: {
        domain: ['errors (Mann-Whitney)', 'laser labels (KS)', 'lowest characteristic (BH)'],
        range: ['#b3261e', '#7a3fb0', '#1f5fbf'],
        legend: true,
      },
      marks: [
        config ? Plot.ruleY([config.alpha], { stroke: '#1b1f24', strokeDasharray: '4 3' }) : null,
        config ? Plot.text([config.alpha], { y: (d: number) => d, frameAnchor: 'left', dy: -7, text: (d: number) => `alpha ${d}` }) : null,
        Plot.line(pValues, { x: 'time', y: (d: { p: number }) => Math.max(d.p, P_FLOOR), stroke: 'test', z: 'test' }),
        Plot.dot(pValues, {
          x: 'time',
          y: (d: { p: number }) => Math.max(d.p, P_FLOOR),
          fill: 'test',
          r: 2.5,
          title: (d: { test: string; p: number }) => `${d.test}: p = ${pValue(d.p)}`,
        }),
      ],
    };
    return { verdicts, errorRatio, sharesChart, pChart };
  }, [checks, config]);

  return (
    <section>
      <h2>Checks over time</h2>
      <div class="panel">
        <h3>Verdicts</h3>
        <Chart options={charts.verdicts} label="each check’s verdict over time" />
      </div>
      <div class="grid three">
        <div class="panel">
          <h3>Performance: live error against the test error</h3>
          <Chart
            options={charts.errorRatio}
            label="ratio of the live mean error to the version’s test mean error per check, with the threshold"
          />
        </div>
        <div class="panel">
          <h3>Covariate and label shift</h3>
          <Chart
            options={charts.sharesChart}
            label="share of drifted characteristics and of laser readings out of the trained range per check, with thresholds"
          />
        </div>
        <div class="panel">
          <h3>The tests’ p-values</h3>
          <Chart options={charts.pChart} label="p-values of the performance, label and lowest characteristic test per check, with alpha" />
        </div>
      </div>
      {!config && <p class="muted">The thresholds are not drawn: this model’s monitor settings could not be read.</p>}
    </section>
  );
}

function Heatmap({ checks }: { checks: DriftCheckRow[] }) {
  const [statistic, setStatistic] = useState<HeatStatistic>('adjustedP');
  const { columns, cells } = useMemo(() => heatCells(checks, statistic), [checks, statistic]);
  const options = useMemo<Plot.PlotOptions>(() => {
    const { label, log } = HEAT_STATISTICS[statistic];
    const every = Math.ceil(columns.length / 12);
    return {
      height: 22 * 18 + 70,
      marginLeft: 136,
      marginBottom: 40,
      padding: 0.05,
      x: {
        type: 'band',
        domain: columns.map((_, i) => i),
        label: 'check (oldest to newest)',
        tickFormat: (i: number) => (i % every === 0 ? shortTime(columns[i].time) : ''),
      },
      y: { label: null, domain: [...new Set(cells.map((c) => c.feature))] },
      color: log
        ? {
            type: 'log',
            domain: [P_FLOOR, 1],
            scheme: 'YlOrRd',
            reverse: true,
            clamp: true,
            legend: true,
            label: `${label} (darker: stronger evidence)`,
            tickFormat: pTick,
            width: 360,
          }
        : { type: 'linear', scheme: 'YlOrRd', zero: true, legend: true, label, width: 360 },
      marks: [
        Plot.cell(cells, {
          x: 'column',
          y: 'feature',
          fill: 'value',
          title: (d: (typeof cells)[number]) =>
            `${d.feature} at ${time(d.time)}\nBH-adjusted p = ${pValue(d.evidence.adjustedP)}\nWasserstein = ${num(d.evidence.wasserstein)} sd\nKS = ${num(d.evidence.ks, 3)}, PSI = ${num(d.evidence.psi)}\noutside the reference’s 99 %: ${pct(d.evidence.outsideShare)}${d.drifted ? '\ndrifted' : ''}`,
        }),
        Plot.dot(
          cells.filter((d) => d.drifted),
          { x: 'column', y: 'feature', r: 2.5, fill: 'white', stroke: '#1b1f24' },
        ),
      ],
    };
  }, [cells, columns, statistic]);

  return (
    <section>
      <h2>Image characteristics</h2>
      <div class="panel">
        <div class="toolbar">
          <p class="muted">
            Each of the 22 characteristics against the serving version’s reference, per check (the newest {HEATMAP_CHECKS} that tested
            them). A ring marks a characteristic that drifted.
          </p>
          <form class="inline" onSubmit={(e) => e.preventDefault()}>
            <div>
              <label for="heat-statistic">Heat map of</label>
              <select id="heat-statistic" value={statistic} onChange={(e) => setStatistic(e.currentTarget.value as HeatStatistic)}>
                {Object.entries(HEAT_STATISTICS).map(([key, s]) => (
                  <option value={key}>{s.label}</option>
                ))}
              </select>
            </div>
          </form>
        </div>
        {columns.length === 0 ? (
          <p class="empty-state">
            No check tested the characteristics yet: a check with too few frames, or without a reference, tests none.
          </p>
        ) : (
          <Chart options={options} label={`heat map of the characteristics’ ${HEAT_STATISTICS[statistic].label} per check`} />
        )}
      </div>
    </section>
  );
}

function RetrainCell({ check }: { check: DriftCheckRow }) {
  const retrain = check.retrain;
  if (!retrain) return <span class="muted">–</span>;
  if (!retrain.asked) return check.verdict === 'drift' ? <span class="muted">{retrain.reason}</span> : <span class="muted">–</span>;
  const model = check.modelName;
  return (
    <span class="retrain">
      <a href={pageHref('models', model, 'retrains')} title={retrain.reason}>
        retrain #{retrain.requestId}
      </a>{' '}
      <span class="muted">{retrain.outcome === 'duplicate' ? `repeats #${retrain.duplicateOf}` : retrain.outcome}</span>
      {retrain.version != null && (
        <>
          {' → '}
          <a href={pageHref('models', model, 'versions', retrain.version)}>v{retrain.version}</a>
        </>
      )}
    </span>
  );
}

const TABLE_ROWS = 20;

function ChecksTable({ checks }: { checks: DriftCheckRow[] }) {
  const [all, setAll] = useState(false);
  const columns: Column<DriftCheckRow>[] = [
    { label: 'Time', cell: (c) => time(c.time) },
    { label: 'Version', cell: (c) => version(c.modelVersion) },
    {
      label: 'Verdict',
      cell: (c) => (
        <>
          <Badge tone={toneOf(c.verdict)}>{c.verdict}</Badge>
          {c.kinds.length > 0 && <span class="muted"> {c.kinds.join(', ')}</span>}
          {c.sensors && c.sensors.suspects.length > 0 && (
            <span class="sub" title={c.sensors.suspects.map((s) => `${s.client}: ${s.summary}`).join('\n')}>
              suspect lasers left out: {c.sensors.suspects.map((s) => `${s.client} (${s.kinds.join(', ')})`).join(', ')}
            </span>
          )}
        </>
      ),
    },
    { label: 'Frames', numeric: true, cell: (c) => c.windowFrames.toLocaleString() },
    { label: 'Error ratio', numeric: true, cell: (c) => ratio(c.performance?.errorRatio) },
    { label: 'Error p', numeric: true, cell: (c) => pValue(c.performance?.pValue) },
    {
      label: 'Drifted characteristics',
      numeric: true,
      cell: (c) => (c.covariate ? `${c.covariate.driftedFeatures.length} / ${c.covariate.testedFeatures}` : '–'),
    },
    { label: 'Labels out of range', numeric: true, cell: (c) => pct(c.label?.outOfRangeShare) },
    { label: 'Retrain', cell: (c) => <RetrainCell check={c} /> },
  ];
  return (
    <section>
      <h2>Checks</h2>
      <DataTable caption="Drift checks" columns={columns} rows={all ? checks : checks.slice(0, TABLE_ROWS)} rowKey={(c) => c.time} />
      {checks.length > TABLE_ROWS && (
        <div class="pager">
          <button type="button" onClick={() => setAll((a) => !a)} aria-expanded={all}>
            {all ? `Show the newest ${TABLE_ROWS}` : `Show all ${checks.length} checks`}
          </button>
        </div>
      )}
    </section>
  );
}
