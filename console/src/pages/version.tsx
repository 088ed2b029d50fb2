import { Card } from '../components/Card';
import { useMemo, useState } from 'preact/hooks';
import { sendJson, withQuery } from '../api';
import { describeAsk } from '../asks';
import { ApiForm, FormProblem } from '../components/ApiForm';
import { Chart, Plot } from '../components/Chart';
import { DataTable, type Column } from '../components/DataTable';
import { Badge, Loading } from '../components/Status';
import { ago, mm, num, pValue, time } from '../format';
import { useApi } from '../hooks';
import { pageHref, type PageProps } from '../page';
import { numberList } from '../parse';
import { canAct, useSession, actor } from '../session';
import type { DatasetPolicy, RerunAnswer, RetrainRequestListAnswer, TrialListAnswer, TrialView, VersionDetailAnswer } from '../wire';
import { sliceRows, type SliceRow } from '../slices';
import { paramsText, VERSION_METRICS } from './model';
import { outcomeTone } from './retrains';

const trialName = (t: Pick<TrialView, 'id' | 'runId'>) => t.id.replace(`${t.runId}-`, '');
const short = (digest: string) => `${digest.slice(0, 12)}…`;

function policyText(policy: DatasetPolicy | null) {
  if (!policy) return 'every labelled frame (recorded before dataset policies)';
  if (policy.kind === 'all') return 'all: every labelled frame';
  if (policy.kind === 'last') return `last: the newest ${policy.perDeployment.toLocaleString()} per deployment`;
  return `reservoir: a stable sample of ${policy.perDeployment.toLocaleString()} per deployment (seed ${policy.seed})`;
}

function Dataset({ dataset }: { dataset: VersionDetailAnswer['lineage']['dataset'] }) {
  const { manifest, labels } = dataset;
  return (
    <dl class="facts">
      <dt>Records</dt>
      <dd>
        {dataset.recordCount.toLocaleString()} labelled frames
        {manifest && (
          <span class="muted">
            {' '}
            · {manifest.trainCount.toLocaleString()} train, {manifest.testCount.toLocaleString()} test
          </span>
        )}
      </dd>
      <dt>Deployments</dt>
      <dd>
        {dataset.deployments.map((d, i) => (
          <>
            {i > 0 && ', '}
            <a href={pageHref('deployments', d)}>{d}</a>
          </>
        ))}
      </dd>
      <dt>Label range</dt>
      <dd>
        {labels ? `${mm(labels.min)} to ${mm(labels.max)}, mean ${mm(labels.mean)}` : <span class="muted">no reference profile</span>}
        {manifest && <span class="muted"> · clipped to 0–{manifest.labelMaxMm} mm</span>}
      </dd>
      <dt>Policy</dt>
      <dd>{manifest ? policyText(manifest.policy) : <span class="muted">the manifest cannot be read</span>}</dd>
      {manifest && (
        <>
          <dt>Split and input</dt>
          <dd>
            {Math.round(manifest.testFraction * 100)} % test by frame hash, seed {manifest.seed}; images resized to {manifest.width}×
            {manifest.height} px
          </dd>
        </>
      )}
      <dt>Digest</dt>
      <dd>
        <code title={dataset.sha256}>sha256 {short(dataset.sha256)}</code> <span class="muted">of</span> <code>{dataset.manifestKey}</code>
      </dd>
    </dl>
  );
}

/** The version's test error by distance band and by deployment, beside the version it replaced on the same frames. */
function Slices({ version }: { version: VersionDetailAnswer['version'] }) {
  const { comparison } = version;
  const { bands, deployments } = sliceRows(version.metrics, comparison?.metrics);
  if (bands.length === 0) return <p class="muted">This version was measured before its test error was sliced by distance band.</p>;
  const columns = (first: string): Column<SliceRow>[] => [
    { label: first, cell: (r) => r.slice },
    { label: 'Test frames', numeric: true, cell: (r) => r.frames.toLocaleString() },
    { label: 'MAE', numeric: true, cell: (r) => mm(r.mae, 2) },
    ...(comparison
      ? [{ label: `v${comparison.previousVersion} on the same frames`, numeric: true, cell: (r: SliceRow) => mm(r.previous, 2) }]
      : []),
  ];
  const stop = comparison?.stopBand;
  return (
    <>
      <DataTable caption="By distance band (laser reading)" columns={columns('Band')} rows={bands} rowKey={(r) => r.key} />
      {stop && (
        <p>
          Stop band, paired on the same {stop.pairs.toLocaleString()} test frames: {mm(stop.meanErrorCandidate, 2)} against v
          {comparison.previousVersion}'s {mm(stop.meanErrorCurrent, 2)}; p(worse) = {pValue(stop.pCandidateWorse)}, p(better) ={' '}
          {pValue(stop.pCandidateBetter)}.
        </p>
      )}
      {deployments.length > 0 && (
        <DataTable caption="By deployment" columns={columns('Deployment')} rows={deployments} rowKey={(r) => r.key} />
      )}
    </>
  );
}

/** One chart per metric of the trials' histories, a line per trial, the selected trial drawn over the others. */
function LearningCurves({
  trials,
  selected,
  labelMaxMm,
}: {
  trials: TrialView[];
  selected: string | undefined;
  labelMaxMm: number | undefined;
}) {
  const keys = [...new Set(trials.flatMap((t) => Object.keys(t.history)))].sort();
  const charts = useMemo(
    () =>
      keys.map((key) => {
        // `mae` is of labels scaled to 0..1: in mm once multiplied back.
        const toMm = key.endsWith('mae') && labelMaxMm != null;
        const points = trials.flatMap((t) =>
          (t.history[key] ?? []).map((value, i) => ({
            trial: trialName(t),
            epoch: i + 1,
            value: toMm ? value * labelMaxMm : value,
            selected: t.id === selected,
          })),
        );
        const yLabel = toMm ? `${key} of the training batches (mm)` : key === 'loss' ? 'loss (MSE of labels scaled to 0–1)' : key;
        return {
          key,
          label: `learning curve of ${key} per epoch, one line per trial${selected ? `, trial ${trialName({ id: selected, runId: trials[0].runId })} highlighted` : ''}`,
          options: {
            height: 240,
            marginLeft: 56,
            x: { label: 'epoch', grid: true, tickFormat: 'd' },
            y: { label: yLabel, grid: true, type: key === 'loss' ? ('log' as const) : ('linear' as const), tickFormat: '~g' },
            color: { legend: true },
            marks: [
              Plot.lineY(
                points.filter((p) => !p.selected),
                { x: 'epoch', y: 'value', stroke: 'trial', strokeWidth: 1.5, strokeOpacity: 0.55 },
              ),
              Plot.lineY(
                points.filter((p) => p.selected),
                { x: 'epoch', y: 'value', stroke: 'trial', strokeWidth: 3.5, marker: 'circle' },
              ),
              Plot.tip(
                points,
                Plot.pointer({
                  x: 'epoch',
                  y: 'value',
                  title: (p: { trial: string; epoch: number; value: number }) => `${p.trial}, epoch ${p.epoch}: ${p.value.toPrecision(3)}`,
                }),
              ),
            ],
          },
        };
      }),
    [trials, selected, labelMaxMm],
  );
  if (keys.length === 0) return <p class="muted">The trials recorded no per-epoch history.</p>;
  return (
    <div class="grid">
      {charts.map((c) => (
        <figure class="panel" key={c.key}>
          <figcaption>
            <strong>{c.key}</strong> per epoch <span class="muted">(thick: the selected trial)</span>
          </figcaption>
          <Chart options={c.options} label={c.label} />
        </figure>
      ))}
    </div>
  );
}

function Trials({ name, detail }: { name: string; detail: VersionDetailAnswer }) {
  const { version, lineage } = detail;
  const trials = useApi<TrialListAnswer>(
    withQuery(`/models/${encodeURIComponent(name)}/trials`, { workflowId: version.workflowId, runId: version.runId }),
  );
  const metricKeys = VERSION_METRICS.map((m) => m.key);
  const columns: Column<TrialView>[] = [
    {
      label: 'Trial',
      cell: (t) => (
        <>
          {trialName(t)} {t.id === version.trialId && <Badge tone="ok">selected</Badge>}
        </>
      ),
    },
    { label: 'Hyperparameters', wrap: true, cell: (t) => paramsText(t.params) },
    ...VERSION_METRICS.map((m) => ({ label: `${m.label} (mm)`, numeric: true, cell: (t: TrialView) => num(t.metrics[m.key]) })),
    { label: 'Epochs run', numeric: true, cell: (t) => Math.max(0, ...Object.values(t.history).map((h) => h.length)) },
  ];
  return (
    <Loading state={trials}>
      {({ trials: list }) => {
        const sorted = [...list].sort((a, b) => (a.metrics[metricKeys[0]] ?? Infinity) - (b.metrics[metricKeys[0]] ?? Infinity));
        return (
          <>
            <DataTable
              caption="Trials"
              columns={columns}
              rows={sorted}
              rowKey={(t) => t.id}
              empty="The run recorded no trials (a version registered outside a sweep)."
            />
            <h3>Learning curves</h3>
            <LearningCurves trials={list} selected={version.trialId} labelMaxMm={lineage.dataset.manifest?.labelMaxMm} />
          </>
        );
      }}
    </Loading>
  );
}

function Trigger({ name, detail }: { name: string; detail: VersionDetailAnswer }) {
  const requests = useApi<RetrainRequestListAnswer>(`/models/${encodeURIComponent(name)}/retrain-requests`, { pollMs: 15_000 });
  const { runId } = detail.version;
  return (
    <Loading state={requests}>
      {(answer) => {
        const settled = answer.requests.filter((r) => r.runId === runId);
        if (settled.length === 0)
          return (
            <p class="muted">
              No retrain request names this run: it was started outside the API (the CLI against Temporal, or a test), or it is the
              follow-up run of asks recorded against the run before it.
            </p>
          );
        return (
          <ul class="timeline">
            {settled.map((r) => {
              const ask = describeAsk(r);
              return (
                <li key={r.id}>
                  <Badge tone="info">{r.trigger}</Badge> <strong>{ask.who}</strong> <span class="muted">asked {time(r.createdAt)}</span>{' '}
                  <Badge tone={outcomeTone(r.outcome)}>{r.outcome}</Badge>
                  <div>{ask.what}</div>
                  <div class="muted">
                    request #{r.id}: {r.reason}
                    {r.driftCheck && (
                      <>
                        {' '}
                        · <a href={`#/drift?deployment=${encodeURIComponent(r.driftCheck.deployment)}`}>the drift check</a>
                      </>
                    )}
                  </div>
                </li>
              );
            })}
          </ul>
        );
      }}
    </Loading>
  );
}

function RerunForm({ name, detail }: { name: string; detail: VersionDetailAnswer }) {
  const source = detail.version.params;
  const [epochs, setEpochs] = useState('');
  const [batchSizes, setBatchSizes] = useState('');
  const [dropouts, setDropouts] = useState('');
  const [learningRates, setLearningRates] = useState('');
  const [registerPolicy, setRegisterPolicy] = useState('');
  const [dryRun, setDryRun] = useState(false);
  const session = useSession();

  const send = async () => {
    const sweep: Record<string, number[]> = {};
    for (const [key, label, text] of [
      ['epochs', 'Epochs', epochs],
      ['batchSizes', 'Batch sizes', batchSizes],
      ['dropouts', 'Dropouts', dropouts],
      ['learningRates', 'Learning rates', learningRates],
    ] as const) {
      const list = numberList(label, text);
      if (list.problem) throw new FormProblem(list.problem);
      if (list.values) sweep[key] = list.values;
    }
    const body = {
      by: actor(session),
      ...(Object.keys(sweep).length ? { sweep } : {}),
      ...(registerPolicy ? { registerPolicy } : {}),
      ...(dryRun ? { dryRun: true } : {}),
    };
    return (await sendJson<RerunAnswer>('POST', `/models/${encodeURIComponent(name)}/versions/${detail.version.version}/rerun`, body))!;
  };

  const field = (id: string, label: string, value: string, set: (v: string) => void, was: unknown) => (
    <div>
      <label for={id}>{label}</label>
      <input
        id={id}
        value={value}
        onInput={(e) => set(e.currentTarget.value)}
        placeholder={was == null ? 'the source run’s' : `source: ${was}`}
        size={14}
      />
    </div>
  );

  return (
    <ApiForm
      label="Rerun with new hyperparameters"
      submit="Rerun"
      class="inline"
      send={send}
      done={(answer) =>
        answer.outcome === 'dry-run' ? (
          <div class="panel">
            <p>
              <strong>Dry run:</strong> {answer.summary}; would start <code>{answer.workflowId}</code> (sweep values left out come from the{' '}
              {answer.sweepInheritedFrom}). Nothing was started.
            </p>
            <pre class="json">{JSON.stringify(answer.request, null, 2)}</pre>
          </div>
        ) : (
          <p class="done">
            Rerun {answer.outcome}: run <code>{answer.workflowId}</code> / <code>{answer.runId}</code> (retrain request #{answer.requestId}
            ).{' '}
            {answer.links && (
              <a href={answer.links.ui} target="_blank" rel="noopener">
                Open the started run in the Temporal Web UI
              </a>
            )}{' '}
            · <a href={pageHref('models', name, 'retrains')}>its retrain request</a>
          </p>
        )
      }
    >
      {field('rerun-epochs', 'Epochs', epochs, setEpochs, source.epochs)}
      {field('rerun-batch', 'Batch sizes', batchSizes, setBatchSizes, source.batchSize)}
      {field('rerun-dropout', 'Dropouts', dropouts, setDropouts, source.dropout)}
      {field('rerun-lr', 'Learning rates', learningRates, setLearningRates, source.learningRate)}
      <div>
        <label for="rerun-policy">Register</label>
        <select id="rerun-policy" value={registerPolicy} onChange={(e) => setRegisterPolicy(e.currentTarget.value)}>
          <option value="">if better (default)</option>
          <option value="if-better">if better than the current version</option>
          <option value="always">always</option>
        </select>
      </div>
      <div class="check">
        <input id="rerun-dry" type="checkbox" checked={dryRun} onChange={(e) => setDryRun(e.currentTarget.checked)} />
        <label for="rerun-dry">Dry run</label>
      </div>
    </ApiForm>
  );
}

/** A version's lineage: the data it learned from, the sweep that made it, who asked for it, and a rerun of its experiment. */
export function VersionPage({ params: [name, v] }: PageProps) {
  const detail = useApi<VersionDetailAnswer>(`/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(v)}`);
  const session = useSession();
  return (
    <Loading state={detail}>
      {(answer) => {
        const { version, lineage } = answer;
        const trial = lineage.trial;
        return (
          <>
            <p class="toolbar">
              <span>
                <a href={pageHref('models', name)}>All versions of {name}</a> · registered {time(version.createdAt)} (
                {ago(version.createdAt)})
              </span>
              <a class="button" href={lineage.workflow.url} target="_blank" rel="noopener">
                Open the run in the Temporal Web UI
              </a>
            </p>
            <div class="cards">
              {VERSION_METRICS.map((m) => (
                <Card label={m.label} value={mm(version.metrics[m.key], 2)} />
              ))}
              <Card label="Architecture" value={version.architecture} />
            </div>
            <section aria-labelledby="slices" class="panel">
              <h2 id="slices">Test error by slice</h2>
              <p class="muted">
                The stop band (laser reading up to 100 mm) is where the rover parks: if-better registration and rollouts refuse a version
                significantly worse there, even when better on average.
              </p>
              <Slices version={version} />
            </section>
            <section aria-labelledby="dataset" class="panel">
              <h2 id="dataset">Dataset</h2>
              <Dataset dataset={lineage.dataset} />
            </section>
            <section aria-labelledby="trials">
              <h2 id="trials">Trials</h2>
              <p class="muted">
                The sweep of run <code>{version.workflowId}</code> / <code>{version.runId}</code>, best first by test MAE.
              </p>
              <Trials name={name} detail={answer} />
            </section>
            <section aria-labelledby="selected" class="panel">
              <h2 id="selected">Selected trial</h2>
              {trial ? (
                <dl class="facts">
                  <dt>Trial</dt>
                  <dd>
                    <code>{trial.id}</code>
                  </dd>
                  <dt>Hyperparameters</dt>
                  <dd>{paramsText(trial.params)}</dd>
                  <dt>Metrics</dt>
                  <dd>{VERSION_METRICS.map((m) => `${m.label} ${mm(trial.metrics[m.key], 2)}`).join(' · ')}</dd>
                  <dt>Artifact</dt>
                  <dd>
                    <code>{version.artifactKey}</code> <span class="muted">sha256 {short(version.artifactSha256)}</span>
                  </dd>
                </dl>
              ) : (
                <p class="muted">The trial {version.trialId} is not in the registry.</p>
              )}
            </section>
            <section aria-labelledby="trigger" class="panel">
              <h2 id="trigger">Trigger</h2>
              <Trigger name={name} detail={answer} />
            </section>
            <section aria-labelledby="rerun" class="panel">
              <h2 id="rerun">Rerun with new hyperparameters</h2>
              <p class="muted">
                Reruns only the experiment step on exactly this version's dataset, as a run of its own; lists left empty keep the source
                run's values. Comma-separated lists sweep every combination.
              </p>
              {canAct(session) ? <RerunForm name={name} detail={answer} /> : <p class="muted">Read only: a viewer token cannot rerun.</p>}
            </section>
          </>
        );
      }}
    </Loading>
  );
}
