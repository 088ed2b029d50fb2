import { useEffect, useState } from 'preact/hooks';
import { sendJson } from '../api';
import { ActionButton } from '../components/ActionButton';
import { ApiForm, FormProblem, OnceToken } from '../components/ApiForm';
import { DataTable } from '../components/DataTable';
import { Loading, Problem } from '../components/Status';
import { ago, time } from '../format';
import { useApi, type Loaded } from '../hooks';
import { pageHref } from '../page';
import { jsonObject } from '../parse';
import { canAct, useSession, actor } from '../session';
import type {
  ClientView,
  CreatedClientAnswer,
  CreatedViewerAnswer,
  DeploymentListAnswer,
  ModelListAnswer,
  MonitorAnswer,
  MonitorConfig,
  RetrainAnswer,
  ViewerListAnswer,
} from '../wire';

const enc = encodeURIComponent;

function Section({ id, title, children }: { id: string; title: string; children: preact.ComponentChildren }) {
  return (
    <section class="panel" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

function Field({ id, label, children }: { id: string; label: string; children: preact.ComponentChildren }) {
  return (
    <div>
      <label for={id}>{label}</label>
      {children}
    </div>
  );
}

function ModelSelect({
  id,
  models,
  value,
  onChange,
}: {
  id: string;
  models: ModelListAnswer | undefined;
  value: string;
  onChange: (v: string) => void;
}) {
  return (
    <Field id={id} label="Model">
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)} required>
        {(models?.models ?? []).map((m) => (
          <option value={m.name}>{m.name}</option>
        ))}
      </select>
    </Field>
  );
}

function NewDeployment({ onDone }: { onDone: () => void }) {
  const [id, setId] = useState('');
  const [modelName, setModelName] = useState('');
  const [modelVersion, setModelVersion] = useState('latest');
  const [strategy, setStrategy] = useState('direct');
  return (
    <ApiForm
      label="New deployment"
      submit="Create deployment"
      class="inline"
      send={async () => {
        if (modelVersion !== 'latest' && !/^[1-9][0-9]*$/.test(modelVersion))
          throw new FormProblem('Version: "latest" or a version number');
        const answer = await sendJson<{ deployment: { id: string }; serving: { version: number | null } }>('POST', '/deployments', {
          id,
          modelName,
          modelVersion: modelVersion === 'latest' ? 'latest' : Number(modelVersion),
          strategy,
        });
        onDone();
        return answer!;
      }}
      done={(a) => (
        <p class="done">
          Created <a href={pageHref('deployments', a.deployment.id)}>{a.deployment.id}</a>, serving{' '}
          {a.serving.version == null ? 'nothing yet (its model has no version)' : `v${a.serving.version}`}.
        </p>
      )}
    >
      <Field id="dep-id" label="Id">
        <input
          id="dep-id"
          value={id}
          onInput={(e) => setId(e.currentTarget.value)}
          required
          pattern="[a-z0-9][a-z0-9_\-]{0,63}"
          placeholder="yard-east"
        />
      </Field>
      <Field id="dep-model" label="Model name">
        <input
          id="dep-model"
          list="known-models"
          value={modelName}
          onInput={(e) => setModelName(e.currentTarget.value)}
          required
          placeholder="distance"
        />
      </Field>
      <Field id="dep-version" label="Version">
        <input id="dep-version" value={modelVersion} onInput={(e) => setModelVersion(e.currentTarget.value)} size={8} />
      </Field>
      <Field id="dep-strategy" label="Strategy">
        <select id="dep-strategy" value={strategy} onChange={(e) => setStrategy(e.currentTarget.value)}>
          <option value="direct">direct</option>
          <option value="shadow">shadow</option>
          <option value="canary">canary</option>
          <option value="ab">ab</option>
          <option value="bandit">bandit</option>
        </select>
      </Field>
    </ApiForm>
  );
}

function DeploymentSelect({
  id,
  label,
  deployments,
  value,
  onChange,
}: {
  id: string;
  label: string;
  deployments: DeploymentListAnswer | undefined;
  value: string;
  onChange: (v: string) => void;
}) {
  return (
    <Field id={id} label={label}>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">none</option>
        {(deployments?.deployments ?? []).map((d) => (
          <option value={d.id}>
            {d.id} ({d.modelName})
          </option>
        ))}
      </select>
    </Field>
  );
}

function NewRover({ deployments, onDone }: { deployments: DeploymentListAnswer | undefined; onDone: () => void }) {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [deploymentId, setDeploymentId] = useState('');
  return (
    <ApiForm
      label="New rover"
      submit="Create rover"
      class="inline"
      send={async () => {
        const answer = await sendJson<CreatedClientAnswer>('POST', '/clients', {
          id,
          ...(name.trim() ? { name: name.trim() } : {}),
          deploymentId: deploymentId || null,
        });
        onDone();
        return answer!;
      }}
      done={(a) => (
        <>
          <p class="done">
            Created rover {a.client.id}
            {a.client.deploymentId ? ` on ${a.client.deploymentId}` : ', not assigned yet'}.
          </p>
          <OnceToken token={a.token} what="rover token" />
        </>
      )}
    >
      <Field id="rover-id" label="Id">
        <input
          id="rover-id"
          value={id}
          onInput={(e) => setId(e.currentTarget.value)}
          required
          pattern="[a-z0-9][a-z0-9_\-]{0,63}"
          placeholder="rover-7"
        />
      </Field>
      <Field id="rover-name" label="Name (optional)">
        <input id="rover-name" value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="lab rover" />
      </Field>
      <DeploymentSelect
        id="rover-deployment"
        label="Deployment"
        deployments={deployments}
        value={deploymentId}
        onChange={setDeploymentId}
      />
    </ApiForm>
  );
}

function AssignRover({
  clients,
  deployments,
  onDone,
}: {
  clients: Loaded<{ clients: ClientView[] }>;
  deployments: DeploymentListAnswer | undefined;
  onDone: () => void;
}) {
  const list = clients.data?.clients ?? [];
  const [clientId, setClientId] = useState('');
  const [deploymentId, setDeploymentId] = useState('');
  const chosen = clientId || list[0]?.id || '';
  if (clients.data && list.length === 0) return <p class="muted">No rovers yet: create one above.</p>;
  return (
    <ApiForm
      label="Assign a rover"
      submit="Assign"
      class="inline"
      send={async () => {
        const answer = await sendJson<{ clientId: string; deploymentId: string | null }>('PUT', `/clients/${enc(chosen)}/deployment`, {
          deploymentId: deploymentId || null,
        });
        onDone();
        return answer!;
      }}
      done={(a) => <p class="done">{a.deploymentId ? `${a.clientId} now sends to ${a.deploymentId}.` : `${a.clientId} is unassigned.`}</p>}
    >
      <Field id="assign-rover" label="Rover">
        <select id="assign-rover" value={chosen} onChange={(e) => setClientId(e.currentTarget.value)}>
          {list.map((c) => (
            <option value={c.id}>
              {c.id} (now {c.deploymentId ?? 'unassigned'})
            </option>
          ))}
        </select>
      </Field>
      <DeploymentSelect
        id="assign-deployment"
        label="Deployment"
        deployments={deployments}
        value={deploymentId}
        onChange={setDeploymentId}
      />
    </ApiForm>
  );
}

function ViewerTokens() {
  const viewers = useApi<ViewerListAnswer>('/viewers');
  const [name, setName] = useState('');
  return (
    <>
      <Loading state={viewers}>
        {({ viewers: list }) => (
          <DataTable
            caption="Viewer tokens"
            columns={[
              { label: 'Name', cell: (v) => v.name },
              { label: 'Created', cell: (v) => <span title={time(v.createdAt)}>{ago(v.createdAt)}</span> },
              { label: 'By', cell: (v) => v.createdBy },
              {
                label: 'Revoke',
                cell: (v) => (
                  <ActionButton
                    label={`Revoke ${v.name}`}
                    method="DELETE"
                    path={`/viewers/${v.id}`}
                    confirm={`Revoke ${v.name}'s token? It stops working at once.`}
                    danger
                    onDone={viewers.reload}
                  />
                ),
              },
            ]}
            rows={list}
            rowKey={(v) => v.id}
            empty="No viewer tokens: create one for someone who should see everything and change nothing."
          />
        )}
      </Loading>
      <ApiForm
        label="New viewer token"
        submit="Create viewer token"
        class="inline"
        send={async () => {
          const answer = await sendJson<CreatedViewerAnswer>('POST', '/viewers', { name });
          viewers.reload();
          return answer!;
        }}
        done={(a) => <OnceToken token={a.token} what={`viewer token of ${a.viewer.name}`} />}
      >
        <Field id="viewer-name" label="Viewer's name">
          <input id="viewer-name" value={name} onInput={(e) => setName(e.currentTarget.value)} required placeholder="ops on-call" />
        </Field>
      </ApiForm>
    </>
  );
}

function TrainingConfig({ models, onDone }: { models: ModelListAnswer | undefined; onDone: () => void }) {
  const [name, setName] = useState('');
  const model = name || models?.models[0]?.name || '';
  const current = models?.models.find((m) => m.name === model)?.trainingConfig;
  const [text, setText] = useState('');
  // Prefilled from the model's stored config whenever another model is named.
  useEffect(() => setText(JSON.stringify(current ?? { deployments: [] }, null, 2)), [model, current === undefined]);
  return (
    <ApiForm
      label="Training config"
      submit="Save training config"
      send={async () => {
        const parsed = jsonObject(text);
        if (parsed.problem) throw new FormProblem(parsed.problem);
        const answer = await sendJson<{ model: { name: string } }>('PUT', `/models/${enc(model)}/training-config`, parsed.value);
        onDone();
        return answer!;
      }}
      done={(a) => (
        <p class="done">
          Saved: the next retrain of <a href={pageHref('models', a.model.name)}>{a.model.name}</a> uses it.
        </p>
      )}
    >
      <Field id="config-model" label="Model (a new name creates the model)">
        <input id="config-model" list="known-models" value={model} onInput={(e) => setName(e.currentTarget.value)} required />
      </Field>
      <Field id="config-json" label="Config (JSON: deployments required; the rest take their defaults)">
        <textarea id="config-json" rows={14} spellcheck={false} value={text} onInput={(e) => setText(e.currentTarget.value)} class="json" />
      </Field>
    </ApiForm>
  );
}

const MONITOR_FIELDS: { path: [string] | [string, string]; label: string; step: string }[] = [
  { path: ['intervalSeconds'], label: 'Every (s)', step: '1' },
  { path: ['windowMinutes'], label: 'Window (min)', step: 'any' },
  { path: ['windowMaxFrames'], label: 'Window, most frames', step: '1' },
  { path: ['minFrames'], label: 'Fewest frames', step: '1' },
  { path: ['alpha'], label: 'α (significance)', step: 'any' },
  { path: ['performance', 'minErrorRatio'], label: 'Error ratio ≥', step: 'any' },
  { path: ['performance', 'minErrorIncreaseMm'], label: 'Error increase ≥ (mm)', step: 'any' },
  { path: ['covariate', 'minWasserstein'], label: 'Covariate Wasserstein ≥ (std)', step: 'any' },
  { path: ['covariate', 'minOutsideShare'], label: 'Share outside ≥', step: 'any' },
  { path: ['covariate', 'minDriftedShare'], label: 'Drifted features ≥', step: 'any' },
  { path: ['label', 'maxOutOfRangeShare'], label: 'Labels out of range ≥', step: 'any' },
  { path: ['label', 'minWasserstein'], label: 'Label Wasserstein ≥ (std)', step: 'any' },
  { path: ['rearm', 'maxPerDay'], label: 'Re-asks per day ≤', step: '1' },
  { path: ['rearm', 'newFramesRatio'], label: 'Re-ask after new frames ×', step: 'any' },
  { path: ['rearm', 'backoffMinutes'], label: 'Re-ask back-off (min)', step: 'any' },
  { path: ['rearm', 'maxBackoffMinutes'], label: 'Longest back-off (min)', step: 'any' },
];

const monitorValue = (config: MonitorConfig, [a, b]: [string] | [string, string]) =>
  String(b ? (config as unknown as Record<string, Record<string, number>>)[a][b] : (config as unknown as Record<string, number>)[a]);

function DriftMonitor({ model, models, setModel }: { model: string; models: ModelListAnswer | undefined; setModel: (m: string) => void }) {
  const monitor = useApi<MonitorAnswer>(model ? `/models/${enc(model)}/monitor` : null);
  const [values, setValues] = useState<Record<string, string>>({});
  const [enabled, setEnabled] = useState(true);
  const [retrainWhenErrorHolds, setRetrainWhenErrorHolds] = useState(false);
  useEffect(() => {
    if (!monitor.data) return;
    setEnabled(monitor.data.config.enabled);
    setRetrainWhenErrorHolds(monitor.data.config.covariate.retrainWhenErrorHolds);
    setValues(Object.fromEntries(MONITOR_FIELDS.map((f) => [f.path.join('.'), monitorValue(monitor.data!.config, f.path)])));
  }, [monitor.data]);
  return (
    <>
      <div class="inline-row">
        <ModelSelect id="monitor-model" models={models} value={model} onChange={setModel} />
        {monitor.data && (
          <span class="muted">
            schedule {monitor.data.schedule.state}
            {monitor.data.defaults ? ' · the defaults' : ''}
          </span>
        )}
      </div>
      {monitor.error && <Problem text={monitor.error.message} />}
      {monitor.data && (
        <ApiForm
          label="Drift monitor"
          submit="Save monitor"
          class="inline"
          send={async () => {
            const change: Record<string, unknown> = { enabled, covariate: { retrainWhenErrorHolds } };
            for (const f of MONITOR_FIELDS) {
              const text = values[f.path.join('.')];
              const value = Number(text);
              if (text === '' || !Number.isFinite(value)) throw new FormProblem(`${f.label}: a number`);
              const [a, b] = f.path;
              if (b) change[a] = { ...((change[a] as object) ?? {}), [b]: value };
              else change[a] = value;
            }
            const answer = await sendJson<MonitorAnswer>('PUT', `/models/${enc(model)}/monitor`, change);
            monitor.reload();
            return answer!;
          }}
          done={(a) => (
            <p class="done">Saved: {a.config.enabled ? `checks every ${a.config.intervalSeconds} s` : 'off (its schedule is paused)'}.</p>
          )}
        >
          <div class="check">
            <input id="monitor-enabled" type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
            <label for="monitor-enabled">Monitor on</label>
          </div>
          <div class="check">
            <input
              id="monitor-retrainWhenErrorHolds"
              type="checkbox"
              checked={retrainWhenErrorHolds}
              onChange={(e) => setRetrainWhenErrorHolds(e.currentTarget.checked)}
            />
            <label for="monitor-retrainWhenErrorHolds">Retrain on covariate drift even while the labelled error holds</label>
          </div>
          {MONITOR_FIELDS.map((f) => {
            const key = f.path.join('.');
            return (
              <Field id={`monitor-${key}`} label={f.label}>
                <input
                  id={`monitor-${key}`}
                  type="number"
                  step={f.step}
                  value={values[key] ?? ''}
                  onInput={(e) => setValues((v) => ({ ...v, [key]: e.currentTarget.value }))}
                  size={8}
                />
              </Field>
            );
          })}
        </ApiForm>
      )}
    </>
  );
}

function AskRetrain({ model, models, setModel }: { model: string; models: ModelListAnswer | undefined; setModel: (m: string) => void }) {
  const session = useSession();
  const [reason, setReason] = useState('');
  return (
    <ApiForm
      label="Ask for a retrain"
      submit="Ask for a retrain"
      class="inline"
      send={async () =>
        (await sendJson<RetrainAnswer>('POST', `/models/${enc(model)}/retrain`, {
          by: actor(session),
          ...(reason.trim() ? { reason: reason.trim() } : {}),
        }))!
      }
      done={(a) => (
        <p class="done">
          Retrain {a.outcome}
          {a.coverage ? ` (${a.coverage === 'this-run' ? 'covered by this run' : 'covered by its follow-up run'})` : ''}: request #
          {a.requestId}
          {a.duplicateOf != null ? `, a repeat of #${a.duplicateOf}` : ''}.{' '}
          <a href={pageHref('models', a.modelName, 'retrains')}>Retrain requests</a>
          {a.links && (
            <>
              {' '}
              ·{' '}
              <a href={a.links.ui} target="_blank" rel="noopener">
                the run in the Temporal Web UI
              </a>
            </>
          )}
        </p>
      )}
    >
      <ModelSelect id="retrain-model" models={models} value={model} onChange={setModel} />
      <Field id="retrain-reason" label="Reason (optional)">
        <input
          id="retrain-reason"
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
          size={40}
          maxLength={1024}
          placeholder="new gravel on the yard"
        />
      </Field>
    </ApiForm>
  );
}

/** What an admin changes: deployments, rovers, viewer tokens, a model's training and monitor config, retrains. */
export function AdminPage() {
  const session = useSession();
  const models = useApi<ModelListAnswer>(canAct(session) ? '/models' : null);
  const deployments = useApi<DeploymentListAnswer>(canAct(session) ? '/deployments' : null);
  const clients = useApi<{ clients: ClientView[] }>(canAct(session) ? '/clients' : null);
  const [picked, setPicked] = useState('');
  if (!canAct(session))
    return (
      <p class="panel" role="note">
        Read only: a viewer token cannot change anything. Every page shows what an admin sees.
      </p>
    );
  const model = picked || models.data?.models[0]?.name || '';
  const noModel = models.data && models.data.models.length === 0;
  return (
    <>
      <datalist id="known-models">
        {(models.data?.models ?? []).map((m) => (
          <option value={m.name} />
        ))}
      </datalist>
      <div class="grid two">
        <Section id="new-deployment" title="New deployment">
          <NewDeployment onDone={deployments.reload} />
        </Section>
        <Section id="new-rover" title="New rover">
          <NewRover deployments={deployments.data} onDone={clients.reload} />
          <h3>Assign a rover</h3>
          <AssignRover clients={clients} deployments={deployments.data} onDone={clients.reload} />
        </Section>
      </div>
      <Section id="viewer-tokens" title="Viewer tokens">
        <ViewerTokens />
      </Section>
      {noModel && <p class="muted">No model yet: the training config below creates one (type its name in a new deployment first).</p>}
      <div class="grid two">
        <Section id="training-config" title="Training config">
          <TrainingConfig models={models.data} onDone={models.reload} />
        </Section>
        <div>
          <Section id="drift-monitor" title="Drift monitor">
            <DriftMonitor model={model} models={models.data} setModel={setPicked} />
          </Section>
          <Section id="ask-retrain" title="Ask for a retrain">
            <AskRetrain model={model} models={models.data} setModel={setPicked} />
          </Section>
        </div>
      </div>
    </>
  );
}
