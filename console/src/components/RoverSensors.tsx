import { ActionButton } from './ActionButton';
import { DataTable } from './DataTable';
import { Badge, Loading } from './Status';
import { ago, time } from '../format';
import { useApi } from '../hooks';
import { actor, useSession } from '../session';
import type { DeploymentSensorsAnswer } from '../wire';

type Rover = DeploymentSensorsAnswer['rovers'][number];

/**
 * A deployment's rovers and their lasers (GET /deployments/:id/sensors): a suspect rover's frames are kept but left
 * out of training sets, drift checks and rollout evidence until cleared, here by an admin or by healthy readings.
 */
export function RoverSensors({ id, pollMs }: { id: string; pollMs: number }) {
  const session = useSession();
  const sensors = useApi<DeploymentSensorsAnswer>(`/deployments/${encodeURIComponent(id)}/sensors`, { pollMs });
  const columns = [
    { label: 'Rover', cell: (r: Rover) => r.client },
    {
      label: 'Laser',
      cell: (r: Rover) => <Badge tone={r.status === 'suspect' ? 'bad' : 'ok'}>{r.status}</Badge>,
    },
    { label: 'Kinds', cell: (r: Rover) => (r.status === 'suspect' ? r.fault!.kinds.join(', ') : '–') },
    {
      label: 'Since',
      cell: (r: Rover) =>
        r.status === 'suspect' ? (
          <span title={time(r.fault!.since)}>{ago(r.fault!.since)}</span>
        ) : r.fault?.clearedAt ? (
          <span class="muted" title={`${r.fault.clearedBy}: ${r.fault.clearReason ?? ''}`}>
            cleared {ago(r.fault.clearedAt)}
          </span>
        ) : (
          '–'
        ),
    },
    { label: 'Evidence', wrap: true, cell: (r: Rover) => (r.status === 'suspect' ? r.fault!.summary : '') },
    {
      label: '',
      cell: (r: Rover) =>
        r.status === 'suspect' ? (
          <ActionButton
            label="Clear"
            path={`/sensor-faults/${r.fault!.id}/clear`}
            body={{ by: actor(session), reason: 'cleared in the console' }}
            confirm={`Trust ${r.client}'s laser again? Its frames from now on count again.`}
            onDone={() => sensors.reload()}
          />
        ) : null,
    },
  ];
  return (
    <Loading state={sensors}>
      {(answer) => (
        <DataTable caption="Rovers' lasers" columns={columns} rows={answer.rovers} rowKey={(r) => r.client} empty="No rovers yet." />
      )}
    </Loading>
  );
}
