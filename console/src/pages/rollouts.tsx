import { Card } from '../components/Card';
import { useMemo, useRef } from 'preact/hooks';
import { getJson, withQuery } from '../api';
import { ActionButton } from '../components/ActionButton';
import { Chart, Plot } from '../components/Chart';
import { DataTable, type Column } from '../components/DataTable';
import { Badge, Loading, Problem } from '../components/Status';
import { ago, mm, pTick, pValue, time, version } from '../format';
import { useApi, usePoll } from '../hooks';
import { pageHref, type PageProps } from '../page';
import { useSession, actor } from '../session';
import { evidenceLine } from '../evidence';
import type { RolloutAnswer, RolloutListAnswer, RolloutResult, RolloutRunAnswer, RolloutStatus, StageCheck } from '../wire';

const POLL_MS = 3000;
const FINISHED_POLL_MS = 15_000;
const FINISHED = 20;
/** A p-value that underflowed to 0 has no logarithm: drawn here. */
const P_FLOOR = 1e-300;

type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'muted';
export const outcomeTone = (outcome: string | null | undefined): Tone =>
  outcome === 'promoted' ? 'ok' : outcome === 'rolled-back' || outcome === 'aborted' ? 'bad' : outcome ? 'warn' : 'muted';
const verdictTone = (verdict: StageCheck['verdict']): Tone => (verdict === 'advance' ? 'ok' : verdict === 'roll-back' ? 'bad' : 'info');

/** The candidate's share of the rovers at a look, e.g. `75 %` (none in a shadow stage). */
const roverShare = (check: StageCheck | null | undefined) =>
  check?.candidateShare === undefined ? '–' : `${Math.round(check.candidateShare * 100)} %`;

/** The paired frames a stage needs to decide, and how its rovers are chosen, in the deployment's policy. */
function stageLimits(policy: RolloutAnswer['policy'], stage: RolloutStatus['stage']): { minFrames: number; rovers: string } | null {
  if (stage === 'shadow') return { minFrames: policy.shadow.minFrames, rovers: 'no rover: it predicts beside the current version' };
  if (stage === 'canary') return { minFrames: policy.canary.minFrames, rovers: `${Math.round(policy.canaryShare * 100)} % of the rovers` };
  if (stage === 'ab')
    return { minFrames: policy.ab.minFrames, rovers: `${Math.round(policy.ab.share * 100)} % of the rovers for ${policy.ab.minutes} min` };
  if (stage === 'bandit')
    return {
      minFrames: policy.bandit.minFrames,
      rovers: `moved at each look, ${Math.round(policy.bandit.floorShare * 100)} % at least for each version`,
    };
  return null;
}

const rolloutOf = (deployment: string) => getJson<RolloutAnswer>(`/deployments/${encodeURIComponent(deployment)}/rollout`);

/** Temporal's list of Rollout runs (GET /rollouts). */
const listedRollouts = (status: 'running' | 'closed', limit: number) =>
  getJson<RolloutListAnswer>(withQuery('/rollouts', { status, limit }));

interface RunningRow {
  deploymentId: string;
  answer: RolloutAnswer;
  state: RolloutStatus | undefined;
}

/** The deployments whose rollout runs, each with its live state (the status query) and the registry's side. */
async function loadRunning(): Promise<RunningRow[]> {
  const listed = await listedRollouts('running', 100);
  const answers = await Promise.all(listed.rollouts.map((r) => rolloutOf(r.deploymentId)));
  return answers.map((answer) => ({ deploymentId: answer.deployment, answer, state: answer.workflow?.state }));
}

interface FinishedRow {
  deploymentId: string;
  workflowId: string;
  runId: string;
  closeTime: string | null;
  status: string;
  ui: string | undefined;
  result: RolloutResult | undefined;
}

/** Closed rollouts with their evidence: Temporal's newest closed runs. */
async function loadFinished(): Promise<FinishedRow[]> {
  const listed = await listedRollouts('closed', FINISHED);
  const runs = listed.rollouts.filter((r) => r.status !== 'CONTINUED_AS_NEW');
  return Promise.all(
    runs.map(async (r) => {
      const run =
        r.status === 'COMPLETED'
          ? await getJson<RolloutRunAnswer>(`/rollouts/${encodeURIComponent(r.workflowId)}/runs/${encodeURIComponent(r.runId)}`)
          : undefined;
      return {
        deploymentId: r.deploymentId,
        workflowId: r.workflowId,
        runId: r.runId,
        closeTime: r.closeTime,
        status: r.status,
        ui: r.ui,
        result: run?.result,
      };
    }),
  );
}

const errors = (look: StageCheck | null | undefined) =>
  look ? `${mm(look.comparison.meanErrorCurrent)} → ${mm(look.comparison.meanErrorCandidate)}` : '–';
const pValues = (look: StageCheck | null | undefined) =>
  look ? `${pValue(look.comparison.pCandidateBetter)} / ${pValue(look.comparison.pCandidateWorse)}` : '–';

function StageEvidence({ stages }: { stages: StageCheck[] }) {
  if (stages.length === 0) return <span class="muted">no look at the evidence</span>;
  return (
    <ul class="evidence">
      {stages.map((s) => (
        <li>
          <strong>{s.stage}</strong>: {evidenceLine(s)} <Badge tone={verdictTone(s.verdict)}>{s.verdict}</Badge>
        </li>
      ))}
    </ul>
  );
}

export function RolloutsPage() {
  const running = usePoll('running', loadRunning, { pollMs: POLL_MS });
  const finished = usePoll('finished', loadFinished, { pollMs: FINISHED_POLL_MS });

  const runningColumns: Column<RunningRow>[] = [
    {
      label: 'Deployment',
      cell: (r) => (
        <>
          <a href={pageHref('rollouts', r.deploymentId)}>{r.deploymentId}</a>
          <div class="muted">
            {version(r.state?.candidateVersion ?? r.answer.rollout?.candidateVersion)} vs{' '}
            {version(r.state?.currentVersion ?? r.answer.currentVersion)}
          </div>
        </>
      ),
    },
    {
      label: 'Stage',
      cell: (r) => (
        <>
          <Badge tone="info">{r.state?.stage ?? r.answer.rollout?.stage ?? 'unknown'}</Badge>
          {r.state?.paused && (
            <>
              {' '}
              <Badge tone="warn">paused</Badge>
            </>
          )}
          <div class="muted">since {ago(r.state?.stageStartedAt ?? r.answer.rollout?.stageStartedAt)}</div>
        </>
      ),
    },
    { label: 'Paired frames', numeric: true, cell: (r) => r.state?.lastCheck?.comparison.pairs.toLocaleString() ?? '–' },
    {
      label: 'Error current → candidate',
      numeric: true,
      cell: (r) => errors(r.state?.lastCheck),
    },
    { label: 'p better / worse', numeric: true, cell: (r) => pValues(r.state?.lastCheck) },
    {
      label: 'Last look',
      wrap: true,
      cell: (r) =>
        r.state?.lastCheck ? (
          <>
            <Badge tone={verdictTone(r.state.lastCheck.verdict)}>{r.state.lastCheck.verdict}</Badge> {r.state.lastCheck.reason}
          </>
        ) : (
          <span class="muted">{r.answer.workflow?.error ?? 'no look yet'}</span>
        ),
    },
    {
      label: 'Rovers on the candidate',
      wrap: true,
      cell: (r) =>
        r.answer.rollout?.canaryClients.length ? (
          <>
            {r.answer.rollout.canaryClients.join(', ')}
            {r.state?.lastCheck?.candidateShare !== undefined && <div class="muted">{roverShare(r.state.lastCheck)} of the rovers</div>}
          </>
        ) : (
          <span class="muted">none</span>
        ),
    },
  ];

  const finishedColumns: Column<FinishedRow>[] = [
    {
      label: 'Deployment',
      cell: (r) => (
        <>
          <a href={pageHref('rollouts', r.deploymentId)}>{r.deploymentId}</a>
          {r.result && (
            <div class="muted">
              {version(r.result.candidateVersion)} vs {version(r.result.currentVersion)}
            </div>
          )}
        </>
      ),
    },
    {
      label: 'Outcome',
      cell: (r) => <Badge tone={outcomeTone(r.result?.outcome)}>{r.result?.outcome ?? r.status.toLowerCase().replace(/_/g, ' ')}</Badge>,
    },
    { label: 'Reason', wrap: true, cell: (r) => r.result?.reason ?? <span class="muted">no result: the run did not complete</span> },
    { label: 'Evidence (each stage’s last look)', wrap: true, cell: (r) => <StageEvidence stages={r.result?.stages ?? []} /> },
    {
      label: 'Closed',
      cell: (r) => (
        <>
          {r.closeTime ? time(r.closeTime) : ''}
          {r.ui && (
            <>
              {r.closeTime && <br />}
              <a href={r.ui}>Web UI run</a>
            </>
          )}
        </>
      ),
    },
  ];

  return (
    <>
      <p class="muted">
        A rollout judges a new version (the candidate) against the one a shadow or canary deployment serves, on the same frames, and
        promotes it or rolls it back. Updated every {POLL_MS / 1000} s.
      </p>
      <h2>Running</h2>
      <Loading state={running}>
        {(rows) => (
          <DataTable
            caption="Running rollouts"
            columns={runningColumns}
            rows={rows}
            rowKey={(r) => r.deploymentId}
            empty="No rollout is running: one starts when a new version is registered for a deployment whose strategy is shadow or canary."
          />
        )}
      </Loading>
      <h2>Finished</h2>
      <Loading state={finished}>
        {(rows) => (
          <DataTable
            caption="Finished rollouts"
            columns={finishedColumns}
            rows={rows}
            rowKey={(r) => `${r.workflowId}/${r.runId}`}
            empty="No rollout has finished yet."
          />
        )}
      </Loading>
    </>
  );
}

/** The stage's looks over time: the two one-sided p-values against alpha, and both versions' mean errors. */
function CheckCharts({ checks, alpha }: { checks: StageCheck[]; alpha: number }) {
  const charts = useMemo(() => {
    const at = (c: StageCheck) => new Date(c.at);
    const stageStarts = checks.filter((c, i) => i > 0 && checks[i - 1].stage !== c.stage);
    const stageMarks = [
      Plot.ruleX(stageStarts, { x: at, stroke: '#8a939e', strokeDasharray: '2 3' }),
      Plot.text(stageStarts, {
        x: at,
        text: (c: StageCheck) => `${c.stage} begins`,
        frameAnchor: 'top',
        dx: 4,
        dy: 10,
        textAnchor: 'start',
        fill: '#5b6470',
      }),
    ];
    const p = checks.flatMap((c) => [
      { at: at(c), test: 'candidate better', p: c.comparison.pCandidateBetter },
      { at: at(c), test: 'candidate worse', p: c.comparison.pCandidateWorse },
    ]);
    const pOptions: Plot.PlotOptions = {
      height: 260,
      marginLeft: 56,
      marginBottom: 44,
      x: { type: 'utc', label: 'time of the look', labelAnchor: 'center', labelArrow: 'none' },
      y: { type: 'log', label: 'p-value (log)', grid: true, tickFormat: pTick },
      color: { domain: ['candidate better', 'candidate worse'], range: ['#1d7a3a', '#b3261e'], legend: true },
      marks: [
        ...stageMarks,
        Plot.ruleY([alpha], { stroke: '#1b1f24', strokeDasharray: '4 3' }),
        Plot.text([alpha], { y: (d: number) => d, frameAnchor: 'right', dy: 9, text: (d: number) => `alpha ${d}` }),
        Plot.line(p, { x: 'at', y: (d: { p: number }) => Math.max(d.p, P_FLOOR), stroke: 'test', z: 'test' }),
        Plot.dot(p, {
          x: 'at',
          y: (d: { p: number }) => Math.max(d.p, P_FLOOR),
          fill: 'test',
          r: 2.5,
          title: (d: { test: string; p: number }) => `${d.test}: p = ${pValue(d.p)}`,
        }),
      ],
    };
    const errors = checks.flatMap((c) => [
      ...(c.comparison.meanErrorCurrent != null
        ? [{ at: at(c), version: 'current', error: c.comparison.meanErrorCurrent, pairs: c.comparison.pairs }]
        : []),
      ...(c.comparison.meanErrorCandidate != null
        ? [{ at: at(c), version: 'candidate', error: c.comparison.meanErrorCandidate, pairs: c.comparison.pairs }]
        : []),
    ]);
    const errorOptions: Plot.PlotOptions = {
      height: 260,
      marginLeft: 56,
      marginBottom: 44,
      x: { type: 'utc', label: 'time of the look', labelAnchor: 'center', labelArrow: 'none' },
      y: { label: 'mean laser error on the paired frames (mm)', zero: true, grid: true },
      color: { domain: ['current', 'candidate'], range: ['#5b6470', '#1f5fbf'], legend: true },
      marks: [
        ...stageMarks,
        Plot.line(errors, { x: 'at', y: 'error', stroke: 'version', z: 'version' }),
        Plot.dot(errors, {
          x: 'at',
          y: 'error',
          fill: 'version',
          r: 2.5,
          title: (d: { version: string; error: number; pairs: number }) => `${d.version}: ${mm(d.error)} on ${d.pairs} pairs`,
        }),
      ],
    };
    const shares = checks.filter((c) => c.stage === 'bandit' && c.candidateShare !== undefined);
    const shareOptions: Plot.PlotOptions | null = shares.length
      ? {
          height: 200,
          marginLeft: 56,
          marginBottom: 44,
          x: { type: 'utc', label: 'time of the look', labelAnchor: 'center', labelArrow: 'none' },
          y: {
            label: 'share of the rovers on the candidate',
            domain: [0, 1],
            grid: true,
            tickFormat: (d: number) => `${Math.round(d * 100)} %`,
          },
          marks: [
            Plot.line(shares, { x: at, y: 'candidateShare', curve: 'step-after', stroke: '#1f5fbf' }),
            Plot.dot(shares, {
              x: at,
              y: 'candidateShare',
              fill: '#1f5fbf',
              r: 2.5,
              title: (c: StageCheck) => `${roverShare(c)} of the rovers on the candidate`,
            }),
          ],
        }
      : null;
    return { pOptions, errorOptions, shareOptions };
  }, [checks, alpha]);
  if (!checks.some((c) => c.comparison.pairs > 0))
    return (
      <p class="panel muted">
        No paired frames yet: the charts of the p-value and of both versions' errors begin with the first frame both versions answered that
        carries a laser reading.
      </p>
    );
  return (
    <div class="grid two">
      <div class="panel">
        <h3>p-value over time</h3>
        <Chart
          options={charts.pOptions}
          label="p-value over time: one-sided signed-rank tests of the candidate against the current version, with alpha"
        />
      </div>
      <div class="panel">
        <h3>Mean error over time</h3>
        <Chart
          options={charts.errorOptions}
          label="mean laser error of the current version and the candidate on the paired frames over time"
        />
      </div>
      {charts.shareOptions && (
        <div class="panel">
          <h3>Rovers on the candidate over time</h3>
          <Chart options={charts.shareOptions} label="the bandit's share of the rovers on the candidate at each look" />
        </div>
      )}
    </div>
  );
}

/**
 * Every look of the run: the status query's `checks` where the server gives them, else the last looks this page has
 * seen while open (`partial`).
 */
export function useLooks(state: RolloutStatus): { looks: StageCheck[]; partial: boolean } {
  const seen = useRef(new Map<string, StageCheck>());
  if (state.checks) return { looks: state.checks, partial: false };
  if (state.lastCheck) seen.current.set(state.lastCheck.at, state.lastCheck);
  return { looks: [...seen.current.values()].sort((a, b) => a.at.localeCompare(b.at)), partial: true };
}

function RunningRollout({ answer, state, reload }: { answer: RolloutAnswer; state: RolloutStatus; reload: () => void }) {
  const session = useSession();
  const look = state.lastCheck;
  const stagePolicy = stageLimits(answer.policy, state.stage);
  const { looks: checks, partial } = useLooks(state);
  const path = (action: string) => `/deployments/${encodeURIComponent(answer.deployment)}/rollout/${action}`;
  const body = { by: actor(session) };
  const canary = answer.rollout?.canaryClients ?? [];
  return (
    <>
      <div class="cards">
        <Card
          label="Stage"
          value={
            <>
              <Badge tone="info">{state.stage}</Badge> {state.paused && <Badge tone="warn">paused</Badge>}
            </>
          }
          note={`since ${ago(state.stageStartedAt)}`}
        />
        <Card label="Candidate vs current" value={`${version(state.candidateVersion)} vs ${version(state.currentVersion)}`} />
        <Card label="Rovers on the candidate" value={`${canary.length} (${roverShare(look)})`} note={stagePolicy?.rovers} />
        <Card
          label="Paired frames"
          value={look ? look.comparison.pairs.toLocaleString() : '–'}
          note={stagePolicy ? `${stagePolicy.minFrames} to decide; ${look?.answeredByCandidate ?? 0} answered by the candidate` : undefined}
        />
        <Card
          label="Mean error, current vs candidate"
          value={look ? `${mm(look.comparison.meanErrorCurrent)} vs ${mm(look.comparison.meanErrorCandidate)}` : '–'}
        />
        <Card
          label="p (candidate better / worse)"
          value={look ? `${pValue(look.comparison.pCandidateBetter)} / ${pValue(look.comparison.pCandidateWorse)}` : '–'}
          note={`alpha ${answer.policy.alpha}`}
        />
      </div>
      <div class="toolbar">
        <p aria-live="polite">
          {look ? (
            <>
              Last look {ago(look.at)}: <Badge tone={verdictTone(look.verdict)}>{look.verdict}</Badge> {look.reason}
            </>
          ) : (
            <span class="muted">No look at the evidence yet: the stage looks every {answer.policy.checkSeconds} s.</span>
          )}
        </p>
        <div class="actions" role="group" aria-label="Act on the rollout">
          <ActionButton
            label="Promote"
            path={path('promote')}
            body={body}
            confirm={`Serve v${state.candidateVersion} now, whatever the evidence?`}
            onDone={reload}
          />
          <ActionButton
            label="Abort"
            path={path('abort')}
            body={body}
            danger
            confirm={`Roll v${state.candidateVersion} back now?`}
            onDone={reload}
          />
          <ActionButton
            label="Pause"
            path={path('pause')}
            body={body}
            confirm="Stop deciding (the stage keeps serving as it does)?"
            onDone={reload}
          />
          <ActionButton label="Resume" path={path('resume')} body={body} confirm="Go on deciding?" onDone={reload} />
        </div>
      </div>
      {checks.length > 0 ? (
        <>
          <CheckCharts checks={checks} alpha={answer.policy.alpha} />
          {partial && <p class="muted">The looks since this page opened: this API does not list the run’s earlier looks.</p>}
        </>
      ) : (
        <p class="empty-state">The charts fill in with the stage’s first look at its evidence.</p>
      )}
      <div class="grid two">
        <div class="panel">
          <h3>Rovers the candidate answers</h3>
          {canary.length ? (
            <ul class="plain">
              {canary.map((c) => (
                <li>{c}</li>
              ))}
            </ul>
          ) : (
            <p class="muted">
              {state.stage === 'shadow'
                ? 'None yet: in the shadow stage the candidate answers no rover, it predicts beside the current version.'
                : 'None: a deployment with a single rover judges on shadow evidence alone.'}
            </p>
          )}
          {state.stage === 'bandit' && (
            <p class="muted">
              The bandit moves rovers toward the version that errs less at each look; each move is a serving change in the deployment’s
              history.
            </p>
          )}
        </div>
        <PolicyPanel answer={answer} />
      </div>
    </>
  );
}

function PolicyPanel({ answer }: { answer: RolloutAnswer }) {
  const { policy } = answer;
  return (
    <div class="panel">
      <h3>Policy</h3>
      <dl class="facts">
        <dt>Strategy</dt>
        <dd>{answer.strategy}</dd>
        {answer.strategy === 'ab' ? (
          <>
            <dt>A/B test</dt>
            <dd>
              {Math.round(policy.ab.share * 100)} % of the rovers for {policy.ab.minutes} min, then the test on {policy.ab.minFrames} pairs
              at least
            </dd>
          </>
        ) : answer.strategy === 'bandit' ? (
          <>
            <dt>Bandit stage</dt>
            <dd>
              {policy.bandit.minFrames} pairs, {policy.bandit.minMinutes}–{policy.bandit.maxMinutes} min, each version keeps{' '}
              {Math.round(policy.bandit.floorShare * 100)} % of the rovers at least
            </dd>
          </>
        ) : (
          <>
            <dt>Shadow stage</dt>
            <dd>
              {policy.shadow.minFrames} pairs, {policy.shadow.minMinutes}–{policy.shadow.maxMinutes} min
            </dd>
            <dt>Canary stage</dt>
            <dd>
              {policy.canary.minFrames} pairs, {policy.canary.minMinutes}–{policy.canary.maxMinutes} min,{' '}
              {Math.round(policy.canaryShare * 100)} % of the rovers
            </dd>
          </>
        )}
        <dt>Significance</dt>
        <dd>
          alpha {policy.alpha}, a look every {policy.checkSeconds} s
        </dd>
      </dl>
    </div>
  );
}

function FinishedRollout({ answer, result }: { answer: RolloutAnswer; result: RolloutResult }) {
  const columns: Column<StageCheck>[] = [
    { label: 'Stage', cell: (s) => s.stage },
    { label: 'Looked', cell: (s) => time(s.at) },
    {
      label: 'Frames (paired, by the candidate)',
      numeric: true,
      cell: (s) => `${s.frames.toLocaleString()} (${s.comparison.pairs.toLocaleString()}, ${s.answeredByCandidate.toLocaleString()})`,
    },
    { label: 'Error current → candidate', numeric: true, cell: (s) => errors(s) },
    { label: 'p better / worse', numeric: true, cell: (s) => pValues(s) },
    { label: 'Rovers on the candidate', numeric: true, cell: (s) => roverShare(s) },
    {
      label: 'Decision',
      wrap: true,
      cell: (s) => (
        <>
          <Badge tone={verdictTone(s.verdict)}>{s.verdict}</Badge> {s.reason}
        </>
      ),
    },
  ];
  return (
    <>
      <div class="cards">
        <Card label="Last rollout" value={<Badge tone={outcomeTone(result.outcome)}>{result.outcome}</Badge>} />
        <Card label="Candidate vs current" value={`${version(result.candidateVersion)} vs ${version(result.currentVersion)}`} />
        <Card label="Serving now" value={version(answer.currentVersion)} />
      </div>
      <p>
        <strong>Why:</strong> {result.reason}
      </p>
      <DataTable
        caption="Each stage’s last look"
        columns={columns}
        rows={result.stages}
        rowKey={(s) => `${s.stage}-${s.at}`}
        empty="It ended before any look."
      />
      <PolicyPanel answer={answer} />
    </>
  );
}

export function RolloutPage({ params: [id] }: PageProps) {
  const state = useApi<RolloutAnswer>(`/deployments/${encodeURIComponent(id)}/rollout`, { pollMs: POLL_MS });
  return (
    <Loading state={state}>
      {(answer) => {
        const workflow = answer.workflow;
        return (
          <>
            <p class="muted">
              <a href="#/rollouts">All rollouts</a> · <a href={pageHref('deployments', id)}>Deployment {id}</a>
              {workflow?.ui && (
                <>
                  {' · '}
                  <a href={workflow.ui}>Open the run in the Temporal Web UI</a>
                </>
              )}
            </p>
            {!workflow ? (
              <p class="empty-state">
                No rollout has run on {id}.{' '}
                {answer.strategy === 'direct'
                  ? 'Its strategy is direct: a new version serves as soon as it is warm. A shadow, canary, ab or bandit strategy (Admin) judges it first.'
                  : `Its strategy is ${answer.strategy}: the next version registered for ${id} starts one.`}
              </p>
            ) : workflow.state ? (
              <RunningRollout answer={answer} state={workflow.state} reload={state.reload} />
            ) : workflow.result ? (
              <FinishedRollout answer={answer} result={workflow.result} />
            ) : workflow.error ? (
              <Problem text={`The rollout’s state cannot be read: ${workflow.error}`} />
            ) : (
              <p class="empty-state">
                Its last rollout run ended {workflow.status.toLowerCase().replace(/_/g, ' ')}, without a result to show.
              </p>
            )}
          </>
        );
      }}
    </Loading>
  );
}
