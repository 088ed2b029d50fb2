/** The line a person reads about a drift check in the Web UI (its current details): each deployment's verdict. */
import type { DeploymentCheck } from './contract.js';

/** e.g. `steady: no-drift; shifted: drift (covariate, performance), retrain request 12 started`. */
export function checksLine(checks: DeploymentCheck[], enabled: boolean): string {
  if (!enabled) return 'monitor off: nothing checked';
  if (checks.length === 0) return 'no deployment to check';
  return checks
    .map(({ deployment, verdict, kinds, ask, sensors }) => {
      const suspects = sensors?.suspects.length ? ` [suspect lasers: ${sensors.suspects.map((s) => s.client).join(', ')}]` : '';
      const what = (verdict === 'drift' ? `drift (${kinds.join(', ')})` : verdict) + suspects;
      if (!ask) return `${deployment}: ${what}`;
      const request = ask.requestId === null ? 'retrain' : `retrain request ${ask.requestId}`;
      const again = ask.rearmOf ? ` (re-ask of ${ask.rearmOf})` : '';
      return `${deployment}: ${what}, ${request} ${ask.outcome}${ask.duplicateOf ? ` (of ${ask.duplicateOf})` : ''}${again}`;
    })
    .join('; ');
}
