import { useMemo } from 'preact/hooks';
import { Chart, Plot } from '../components/Chart';
import { DataTable, type Column } from '../components/DataTable';
import { Badge, Loading, Problem } from '../components/Status';
import { ago, mm, num, time, version } from '../format';
import { useApi } from '../hooks';
import { pageHref, type PageProps } from '../page';
import type { ModelDetailAnswer, ModelVersionView, MonitorAnswer } from '../wire';

/** The metrics every version is measured by, in mm on its test split (train MAE on its training split). */
export const VERSION_METRICS: { key: string; label: string }[] = [
  { key: 'test_mae_mm', label: 'Test MAE' },
  { key: 'test_rmse_mm', label: 'Test RMSE' },
  { key: 'test_max_error_mm', label: 'Test max error' },
  { key: 'train_mae_mm', label: 'Train MAE' },
  { key: 'test_mae_mm_stop', label: 'Stop-band MAE' },
];

export const paramsText = (params: Record<string, number | string>) =>
  Object.entries(params)
    .filter(([k]) => k !== 'architecture' && k !== 'engine')
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

function Against({ v }: { v: ModelVersionView }) {
  if (!v.comparison) return <span class="muted">first version</span>;
  const before = v.comparison.metrics.test_mae_mm;
  const now = v.metrics.test_mae_mm;
  if (before == null || now == null) return <>v{v.comparison.previousVersion}</>;
  if (Math.abs(now - before) < 0.005) return <span class="muted">same as v{v.comparison.previousVersion}</span>;
  const better = now < before;
  return (
    <span class={better ? 'trend better' : 'trend worse'} title={`v${v.comparison.previousVersion} on the same test set: ${mm(before, 2)}`}>
      {better ? '↓' : '↑'} {mm(Math.abs(now - before), 2)} vs v{v.comparison.previousVersion}
    </span>
  );
}

function VersionsChart({ versions }: { versions: ModelVersionView[] }) {
  const options = useMemo(() => {
    const points = versions.flatMap((v) =>
      ['test_mae_mm', 'test_rmse_mm']
        .filter((k) => v.metrics[k] != null)
        .map((k) => ({ version: v.version, metric: k, value: v.metrics[k] })),
    );
    return {
      height: 220,
      marginLeft: 50,
      x: { label: 'version', tickFormat: (d: number) => `v${d}`, ticks: versions.map((v) => v.version) },
      y: { label: 'error on the test split (mm)', grid: true, zero: true },
      color: { legend: true, domain: ['test_mae_mm', 'test_rmse_mm'], range: ['#1f5fbf', '#9a6200'] },
      marks: [
        Plot.lineY(points, { x: 'version', y: 'value', stroke: 'metric', marker: 'circle' }),
        Plot.tip(
          points,
          Plot.pointerX({
            x: 'version',
            y: 'value',
            title: (p: { version: number; metric: string; value: number }) => `v${p.version} ${p.metric}: ${p.value.toFixed(2)} mm`,
          }),
        ),
      ],
    };
  }, [versions]);
  if (versions.length < 2) return null;
  return <Chart options={options} label="test error of each version, in mm" />;
}

function MonitorFacts({ name }: { name: string }) {
  const monitor = useApi<MonitorAnswer>(`/models/${encodeURIComponent(name)}/monitor`, { pollMs: 15_000 });
  return (
    <Loading state={monitor}>
      {({ config, defaults, schedule }) => (
        <dl class="facts">
          <dt>State</dt>
          <dd>
            {config.enabled ? <Badge tone="ok">on</Badge> : <Badge tone="muted">off</Badge>}{' '}
            <span class="muted">
              {defaults ? 'the defaults' : 'as set'}; schedule {schedule.state}
              {schedule.state === 'absent' ? `: ${schedule.reason}` : ''}
            </span>
          </dd>
          <dt>Checks</dt>
          <dd>
            every {config.intervalSeconds} s over the last {config.windowMinutes} min (at most {config.windowMaxFrames} frames, at least{' '}
            {config.minFrames})
            {schedule.state !== 'absent' && schedule.nextChecks[0] && <span class="muted"> · next {time(schedule.nextChecks[0])}</span>}
          </dd>
          <dt>Performance</dt>
          <dd>
            error ≥ {config.performance.minErrorRatio}× the test error and ≥ {mm(config.performance.minErrorIncreaseMm)} above it
          </dd>
          <dt>Covariate</dt>
          <dd>
            α {config.alpha}, Wasserstein ≥ {config.covariate.minWasserstein} std, ≥ {Math.round(config.covariate.minOutsideShare * 100)} %
            outside, ≥ {Math.round(config.covariate.minDriftedShare * 100)} % of features;{' '}
            {config.covariate.retrainWhenErrorHolds
              ? 'retrains even while the labelled error holds'
              : 'retrains only when the labelled error cannot tell or grows'}
          </dd>
          <dt>Labels</dt>
          <dd>
            ≥ {Math.round(config.label.maxOutOfRangeShare * 100)} % out of range, or Wasserstein ≥ {config.label.minWasserstein} std
          </dd>
        </dl>
      )}
    </Loading>
  );
}

/** One model: its versions with their metrics, its training config and its drift monitor. */
export function ModelPage({ params: [name] }: PageProps) {
  const detail = useApi<ModelDetailAnswer>(`/models/${encodeURIComponent(name)}`, { pollMs: 10_000 });
  const columns: Column<ModelVersionView>[] = [
    { label: 'Version', cell: (v) => <a href={pageHref('models', v.modelName, 'versions', v.version)}>{version(v.version)}</a> },
    ...VERSION_METRICS.map((m) => ({ label: `${m.label} (mm)`, numeric: true, cell: (v: ModelVersionView) => num(v.metrics[m.key]) })),
    { label: 'Against the one before', cell: (v) => <Against v={v} /> },
    { label: 'Hyperparameters', wrap: true, cell: (v) => <span class="muted">{paramsText(v.params)}</span> },
    { label: 'Records', numeric: true, cell: (v) => v.recordCount.toLocaleString() },
    { label: 'Deployments', cell: (v) => v.sourceDeployments.join(', ') },
    { label: 'Registered', cell: (v) => <span title={time(v.createdAt)}>{ago(v.createdAt)}</span> },
  ];
  return (
    <Loading state={detail}>
      {({ model, versions }) => {
        const newestFirst = [...versions].sort((a, b) => b.version - a.version);
        return (
          <>
            <p class="toolbar">
              <span class="muted">{model.description || `created ${time(model.createdAt)}`}</span>
              <span>
                <a href={pageHref('models', name, 'retrains')}>Retrain requests</a> · <a href="#/admin">Change its config</a>
              </span>
            </p>
            <DataTable
              caption="Versions"
              columns={columns}
              rows={newestFirst}
              rowKey={(v) => v.version}
              empty="No version yet: the first retrain that finishes registers v1."
            />
            <VersionsChart versions={versions} />
            <div class="grid two">
              <section class="panel" aria-labelledby="training-config">
                <h2 id="training-config">Training config</h2>
                {model.trainingConfig ? (
                  <pre class="json">{JSON.stringify(model.trainingConfig, null, 2)}</pre>
                ) : (
                  <Problem text="No training config: a retrain of this model cannot start until one is set (Admin, Training config)." />
                )}
                <p class="muted">Fields left out take their defaults when a retrain starts (docs/API.md, Training config).</p>
              </section>
              <section class="panel" aria-labelledby="monitor-config">
                <h2 id="monitor-config">Drift monitor</h2>
                <MonitorFacts name={name} />
              </section>
            </div>
          </>
        );
      }}
    </Loading>
  );
}
