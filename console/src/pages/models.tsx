import { DataTable, type Column } from '../components/DataTable';
import { Badge, Loading } from '../components/Status';
import { ago, version } from '../format';
import { useApi } from '../hooks';
import { pageHref } from '../page';
import type { ModelListAnswer } from '../wire';

type Row = ModelListAnswer['models'][number];

const trainedOn = (m: Row) => (m.trainingConfig?.deployments as string[] | undefined) ?? [];

/** Every model: its newest version, what it trains on, whether its drift monitor watches it. */
export function ModelsPage() {
  const models = useApi<ModelListAnswer>('/models', { pollMs: 10_000 });
  const columns: Column<Row>[] = [
    { label: 'Model', cell: (m) => <a href={pageHref('models', m.name)}>{m.name}</a> },
    {
      label: 'Latest version',
      cell: (m) =>
        m.latestVersion == null ? (
          <span class="muted">none yet</span>
        ) : (
          <a href={pageHref('models', m.name, 'versions', m.latestVersion)}>{version(m.latestVersion)}</a>
        ),
    },
    {
      label: 'Trains on',
      cell: (m) =>
        m.trainingConfig ? (
          trainedOn(m).map((d, i) => (
            <>
              {i > 0 && ', '}
              <a href={pageHref('deployments', d)}>{d}</a>
            </>
          ))
        ) : (
          <span class="muted">no training config</span>
        ),
    },
    {
      label: 'Drift monitor',
      cell: (m) =>
        !m.trainingConfig ? (
          <span class="muted">–</span>
        ) : (m.monitorConfig as { enabled?: boolean } | null)?.enabled === false ? (
          <Badge tone="muted">off</Badge>
        ) : (
          <Badge tone="ok">on</Badge>
        ),
    },
    { label: 'Retrains', cell: (m) => <a href={pageHref('models', m.name, 'retrains')}>requests</a> },
    { label: 'Created', cell: (m) => <span title={m.createdAt}>{ago(m.createdAt)}</span> },
  ];
  return (
    <Loading state={models}>
      {(answer) => (
        <DataTable
          caption="Models"
          columns={columns}
          rows={answer.models}
          rowKey={(m) => m.name}
          empty="No models yet: a model exists once its training config is set (Admin, Training config) or a version of it is registered."
        />
      )}
    </Loading>
  );
}
