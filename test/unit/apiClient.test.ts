import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../api/openapi/document.js';
import { openApiPath } from '../../api/openapi/routeDoc.js';
import type { ApiRoutes } from '../../scripts/apiClient.js';

/** Every route of the scripts' client, listed once more so that its keys exist at run time (TypeScript holds the two lists equal). */
const CLIENT_ROUTES: Record<keyof ApiRoutes, true> = {
  'GET /healthz': true,
  'GET /readyz': true,
  'GET /readyz/replica': true,
  'POST /models/:name/retrain': true,
  'POST /webhooks/grafana': true,
  'POST /models/:name/versions/:version/rerun': true,
  'GET /workflows/:workflowId/runs/:runId': true,
  'POST /clients': true,
  'GET /clients': true,
  'GET /clients/:id': true,
  'PUT /clients/:id/deployment': true,
  'DELETE /clients/:id': true,
  'POST /deployments': true,
  'GET /deployments': true,
  'GET /deployments/:id': true,
  'PATCH /deployments/:id': true,
  'GET /deployments/:id/serving-history': true,
  'POST /deployments/:id/rollback': true,
  'DELETE /deployments/:id': true,
  'PUT /models/:name/training-config': true,
  'GET /models/:name/monitor': true,
  'PUT /models/:name/monitor': true,
  'DELETE /models/:name/monitor': true,
  'POST /models/:name/monitor/check': true,
  'GET /deployments/:id/drift': true,
  'GET /deployments/:id/rollout': true,
  'POST /deployments/:id/rollout/:action': true,
  'GET /models': true,
  'GET /models/:name': true,
  'GET /models/:name/versions': true,
  'GET /models/:name/versions/:version': true,
  'GET /models/:name/versions/:version/reference-profile': true,
  'GET /models/:name/trials': true,
  'GET /models/:name/retrain-requests': true,
  'GET /trials/:id': true,
  'GET /deployments/:id/stats': true,
  'GET /deployments/:id/histogram': true,
  'GET /deployments/:id/means': true,
  'GET /session': true,
  'POST /viewers': true,
  'GET /viewers': true,
  'DELETE /viewers/:id': true,
  'POST /annotations': true,
  'GET /annotations': true,
  'GET /fleet': true,
  'GET /deployments/:id/frames': true,
  'GET /deployments/:id/series': true,
  'GET /rollouts': true,
  'GET /rollouts/:workflowId/runs/:runId': true,
  'GET /sensor-faults': true,
  'POST /sensor-faults/:id/clear': true,
  'GET /deployments/:id/sensors': true,
  'GET /clients/me': true,
  'POST /parking-runs': true,
  'GET /parking-runs': true,
  'GET /deployments/:id/parking': true,
};

describe('the scripts’ API client (scripts/apiClient.ts)', () => {
  it('types exactly the JSON routes the API description has', () => {
    const described = Object.entries(openApiDocument().paths ?? {})
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
      // The rover's route has its own client (edge/roverClient.ts); the description, the landing page and the
      // metrics, the console's page and a frame's JPEG are no JSON call a script makes.
      .filter(
        (operation) =>
          ![
            'POST /predict',
            'GET /openapi.json',
            'GET /',
            'GET /metrics',
            'GET /console',
            'GET /deployments/{id}/frames/{frameId}/image',
          ].includes(operation),
      );
    const typed = Object.keys(CLIENT_ROUTES).map((route) => {
      const [method, path] = route.split(' ');
      return `${method} ${openApiPath(path)}`;
    });
    expect(typed.sort()).toEqual(described.sort());
  });
});
