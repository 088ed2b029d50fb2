import { DataTable } from './DataTable';
import { Loading } from './Status';
import { mm, pct, version } from '../format';
import { useApi } from '../hooks';
import type { ParkingSummaryAnswer } from '../wire';

type Group = ParkingSummaryAnswer['groups'][number];

/**
 * A deployment's parking success (GET /deployments/:id/parking): how its rovers' runs ended, by what steered them
 * (the model, or the laser alone as the baseline) and the model version that answered most of each run's frames.
 */
export function ParkingSuccess({ id, pollMs }: { id: string; pollMs: number }) {
  const parking = useApi<ParkingSummaryAnswer>(`/deployments/${encodeURIComponent(id)}/parking`, { pollMs });
  const columns = [
    { label: 'Steered by', cell: (g: Group) => (g.mode === 'laser' ? 'laser (baseline)' : 'model') },
    { label: 'Version', cell: (g: Group) => version(g.modelVersion) },
    { label: 'Runs', numeric: true, cell: (g: Group) => g.runs },
    { label: 'Parked', numeric: true, cell: (g: Group) => pct(g.successRate) },
    // The camera's own success: the model stopped the rover in the stop zone, the laser did not have to.
    { label: 'Parked by the model', numeric: true, cell: (g: Group) => (g.mode === 'model' ? pct(g.parkedByModel / g.runs) : '-') },
    { label: 'Stopped by the laser', numeric: true, cell: (g: Group) => (g.mode === 'model' ? g.laserStops : '-') },
    { label: 'Hit the wall', numeric: true, cell: (g: Group) => g.hit },
    { label: 'Stopped early', numeric: true, cell: (g: Group) => g.early },
    { label: 'Mean final distance', numeric: true, cell: (g: Group) => mm(g.meanFinalMm) },
  ];
  return (
    <Loading state={parking}>
      {(answer) => (
        <DataTable
          caption="Parking success"
          columns={columns}
          rows={answer.groups}
          rowKey={(g) => `${g.mode}/${g.modelVersion}`}
          empty="No parking runs reported yet."
        />
      )}
    </Loading>
  );
}
