import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { describeAccessRoutes } from './access.js';
import { describeAdminRoutes } from './admin.js';
import { describeHealthRoutes } from './health.js';
import { describeMonitorRoutes } from './monitor.js';
import { describePredictRoutes } from './predict.js';
import { describeReadRoutes } from './reads.js';
import { describeDeploymentReadRoutes } from './deploymentReads.js';
import { describeSensorFaultRoutes } from './sensorFaults.js';
import { describeRoverRoutes } from './rover.js';
import { describeRetrainRoutes } from './retrain.js';
import { describeRolloutRoutes } from './rollout.js';
import { describeRoute, SECURITY_SCHEMES } from './routeDoc.js';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/**
 * The OpenAPI 3.1 description of every route of the app (api/app.ts), generated from the zod schemas the routes
 * validate with and the wire schemas of contracts/http. test/integration/openapi.test.ts holds it against the
 * routes the app serves, both ways.
 */
export function openApiDocument(): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) registry.registerComponent('securitySchemes', name, scheme);

  describeRoute(registry, 'meta', {
    method: 'get',
    path: '/openapi.json',
    summary: 'This description of the API (OpenAPI 3.1)',
    access: 'public',
    answers: [{ status: 200, description: 'the OpenAPI document' }],
  });
  describeRoute(registry, 'meta', {
    method: 'get',
    path: '/',
    summary: 'A landing page with the links an operator needs (HTML; JSON with Accept: application/json)',
    access: 'public',
    answers: [{ status: 200, description: 'the landing page' }],
  });
  describeRoute(registry, 'meta', {
    method: 'get',
    path: '/console',
    summary: "The web console (HTML and its bundle under /console/; its data comes from this API with the user's token)",
    access: 'public',
    answers: [
      { status: 200, description: 'the console page (at /console/)' },
      { status: 301, description: '/console answers with a redirect to /console/' },
      { status: 503, description: 'console_not_built: the bundle is missing (npm run console:build)' },
    ],
  });
  describeRoute(registry, 'meta', {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics of this API process (text exposition format; docs/METRICS.md lists them)',
    access: 'public',
    answers: [{ status: 200, description: 'the metrics' }],
  });
  describeHealthRoutes(registry);
  describePredictRoutes(registry);
  describeRoverRoutes(registry);
  describeRetrainRoutes(registry);
  describeAdminRoutes(registry);
  describeMonitorRoutes(registry);
  describeRolloutRoutes(registry);
  describeReadRoutes(registry);
  describeAccessRoutes(registry);
  describeDeploymentReadRoutes(registry);
  describeSensorFaultRoutes(registry);

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Edge MLOps loop API',
      version: '1',
      description:
        'Rovers send camera frames to `POST /predict`; the admin token manages clients, deployments, models, retrains, ' +
        'rollouts and drift monitors; a viewer token reads what the admin token reads and changes nothing. Every refusal is JSON `{"error": {"code", "message"}}`.',
    },
  });
}
