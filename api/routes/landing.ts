import { Router } from 'express';

/** The main route groups, for a person who opens the API in a browser (the full list is /openapi.json). */
const ROUTE_GROUPS = [
  { path: '/predict', auth: 'client token', what: 'POST a camera frame, get a distance back', method: 'POST' },
  { path: '/clients', auth: 'admin token', what: 'rovers and their tokens' },
  {
    path: '/deployments',
    auth: 'admin token',
    what: 'what each deployment serves, its serving history, rollouts, drift checks and statistics',
  },
  { path: '/models', auth: 'admin token', what: 'models, versions with lineage, training configs, retrains, reruns, drift monitors' },
  { path: '/webhooks/grafana', auth: 'webhook token', what: "Grafana's alert notifications (they ask for retrains)", method: 'POST' },
] as const;

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `GET /`: the links an operator needs, as a small HTML page or, with `Accept: application/json`, as JSON. No token. */
export function landingRoutes({ temporalUiUrl }: { temporalUiUrl?: string }): Router {
  const links = {
    console: '/console/',
    openapi: '/openapi.json',
    metrics: '/metrics',
    health: '/healthz',
    ready: '/readyz',
    ...(temporalUiUrl ? { temporalUi: temporalUiUrl } : {}),
  };
  const index = { name: 'rover distance API', links, routes: ROUTE_GROUPS };
  const item = (href: string, text: string) => `<li><a href="${escape(href)}">${escape(href)}</a> ${escape(text)}</li>`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${index.name}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}code{background:#eee;padding:0 .2rem}</style>
</head><body>
<h1>${index.name}</h1>
<h2>For operators</h2>
<ul>
${item(links.console, 'the web console: fleet, deployments, drift, rollouts, models and lineage (sign in with a token)')}
${item(links.openapi, 'the API description (OpenAPI 3.1)')}
${item(links.metrics, 'Prometheus metrics')}
${item(links.health, 'liveness')}
${item(links.ready, 'readiness of the stores, Temporal and the workers (with the admin token: details)')}
${links.temporalUi ? item(links.temporalUi, 'Temporal Web UI: training runs, rollouts, drift checks') : ''}
</ul>
<h2>Routes</h2>
<ul>
${ROUTE_GROUPS.map((g) =>
  'method' in g ? `<li><code>POST ${escape(g.path)}</code> (${g.auth}): ${escape(g.what)}</li>` : item(g.path, `(${g.auth}): ${g.what}`),
).join('\n')}
</ul>
<p>Tokens go in <code>Authorization: Bearer &lt;token&gt;</code>.</p>
</body></html>
`;
  const router = Router();
  router.get('/', (req, res) => {
    if (req.accepts(['html', 'json']) === 'json') res.json(index);
    else res.type('html').send(html);
  });
  return router;
}
