import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { retrainRoutes, type RetrainRouteDeps } from '../../api/routes/retrain.js';
import {
  DRIFT_CHECK_MEASUREMENT,
  DRIFT_CHECK_TAGS,
  DRIFT_STATISTIC_FIELDS,
  DRIFT_VERDICT_FIELDS,
  FEATURE_STATISTICS,
  featureStatisticField,
} from '../../core/drift/driftSeries.js';
import { DRIFT_MONITOR_ALERT, SENSOR_FAULT_ALERT } from '../../core/drift/monitorAlert.js';
import { DRIFT_RULE, isOutsideBand } from '../../core/features/driftRule.js';
import { IMAGE_CHARACTERISTIC_FIELDS } from '../../core/features/fields.js';
import { knexFromUrl } from '../../core/stores/sql/knexFromUrl.js';
import { SqlRegistry } from '../../core/stores/sql/sqlRegistry.js';
import { findStaleFiles, renderProvisioningFiles } from '../../grafana/src/provisioningFiles.js';

/*
 * The committed Grafana files are what Grafana loads, so every check below reads them from disk; the first test
 * makes sure they are exactly what grafana/src generates. The measurement schema is restated here from the shared
 * facts rather than taken from the generator, so a generator mistake cannot hide behind its own catalogue.
 */

const GRAFANA_DIR = fileURLToPath(new URL('../../grafana/', import.meta.url));
const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));

const SCHEMA: Record<string, { tags: string[]; fields: string[] }> = {
  inference: {
    tags: ['deployment', 'client', 'model', 'model_version'],
    fields: [
      ...IMAGE_CHARACTERISTIC_FIELDS,
      'prediction',
      'sensor_value',
      'error',
      'latency_ms',
      'shadow_model_version',
      'shadow_prediction',
      'shadow_error',
    ],
  },
  api_analysis: { tags: ['instance'], fields: ['queue_depth', 'queue_bytes', 'spooled', 'spool_bytes', 'written', 'failed', 'refused'] },
  [DRIFT_CHECK_MEASUREMENT]: {
    tags: [...DRIFT_CHECK_TAGS],
    fields: [
      ...Object.values(DRIFT_VERDICT_FIELDS),
      ...DRIFT_STATISTIC_FIELDS,
      ...FEATURE_STATISTICS.flatMap((statistic) => IMAGE_CHARACTERISTIC_FIELDS.map((f) => featureStatisticField(statistic, f))),
    ],
  },
};

// Loose shapes of the parsed files: only what the checks read.
interface Target {
  refId?: string;
  datasource?: { uid?: string };
  query?: string;
  rawSql?: string;
}
interface PanelJson {
  id?: number;
  type: string;
  title?: string;
  datasource?: { uid?: string };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  panels?: PanelJson[];
}
interface VariableJson {
  name: string;
  type: string;
  query?: string;
  datasource?: { uid?: string };
}
interface DashboardJson {
  uid: string;
  panels: PanelJson[];
  templating: { list?: VariableJson[] };
}
interface AlertQuery {
  refId: string;
  datasourceUid: string;
  relativeTimeRange?: { from: number; to: number };
  model: Record<string, unknown> & { query?: string; expression?: string; type?: string };
}

const fileText = (relative: string) => fs.readFileSync(path.join(GRAFANA_DIR, relative), 'utf8');

function parseYaml(relative: string): any {
  const doc = parseDocument(fileText(relative), { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) throw new Error(`${relative}: ${doc.errors.map((e) => e.message).join('; ')}`);
  return doc.toJS();
}

const generated = renderProvisioningFiles();
const yamlFiles = [...generated.keys()].filter((f) => f.endsWith('.yaml'));
const dashboardFiles = [...generated.keys()].filter((f) => f.startsWith('dashboards/'));
const readDashboard = (file: string): DashboardJson => JSON.parse(fileText(file));

const allPanels = (panels: PanelJson[]): PanelJson[] => panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);

function provisionedDatasourceUids(): Set<string> {
  const { datasources } = parseYaml('provisioning/datasources/datasources.yaml') as { datasources: { uid: string }[] };
  return new Set(datasources.map((d) => d.uid));
}

/**
 * The fields an InfluxQL query reads: its double-quoted identifiers other than the measurement, tags and
 * `AS "alias"` names; `$variable` stands for each of the custom variable's values.
 */
function fieldsProblems(query: string, variables: VariableJson[]): string[] {
  const measurement = /FROM\s+"([^"]+)"/.exec(query)?.[1];
  if (!measurement || !SCHEMA[measurement]) return [`unknown measurement "${measurement}" in: ${query}`];
  const { tags, fields } = SCHEMA[measurement];
  const identifiers = [...query.replace(/\bAS\s+"[^"]*"/gi, '').matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  const problems: string[] = [];
  for (const identifier of identifiers) {
    if (identifier === measurement || tags.includes(identifier)) continue;
    const variable = /^\$(\w+)$/.exec(identifier)?.[1];
    const values = variable
      ? (variables.find((v) => v.name === variable && v.type === 'custom')?.query?.split(',') ?? [`$${variable}`])
      : [identifier];
    for (const value of values) if (!fields.includes(value)) problems.push(`"${value}" is no field of ${measurement}: ${query}`);
  }
  return problems;
}

/** Grafana's threshold expression (pkg/expr/threshold.go): outside_range is strict, the _included forms are not. */
function grafanaThreshold(type: string, [a, b]: number[], value: number): boolean {
  switch (type) {
    case 'outside_range':
      return value < a || value > b;
    case 'outside_range_included':
      return value <= a || value >= b;
    case 'within_range':
      return value > a && value < b;
    case 'within_range_included':
      return value >= a && value <= b;
    case 'gt':
      return value > a;
    case 'lt':
      return value < a;
    default:
      throw new Error(`threshold type ${type} not modelled`);
  }
}

describe('generated Grafana files', () => {
  it('are current: the committed files equal what grafana/src generates, byte for byte', async () => {
    const stale = await findStaleFiles(GRAFANA_DIR, generated);
    expect(stale, 'Grafana provisioning is stale: run `npm run grafana` (tsx grafana/src/generate.ts) and commit the result').toEqual([]);
  });

  it.each(yamlFiles)('%s is valid YAML of provisioning apiVersion 1', (file) => {
    expect(parseYaml(file).apiVersion).toBe(1);
  });

  it('take every per-installation setting from an environment variable named in .env.example (or API_URL)', () => {
    const envNames = new Set(
      [...fs.readFileSync(path.join(REPO_DIR, '.env.example'), 'utf8').matchAll(/^\s*#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]),
    );
    envNames.add('API_URL');
    // Grafana expands `$NAME` everywhere in these files; in the rule file only where no template or macro is meant.
    const expanded = [
      ...[
        'provisioning/datasources/datasources.yaml',
        'provisioning/alerting/contact-points.yaml',
        'provisioning/alerting/notification-policies.yaml',
        'provisioning/dashboards/dashboards.yaml',
      ].map(fileText),
      JSON.stringify(
        parseYaml('provisioning/alerting/drift-rules.yaml').groups.map((g: any) => ({
          ...g,
          rules: g.rules.map((r: any) => ({ ...r, data: [], annotations: {} })),
        })),
      ),
    ];
    const references = expanded.flatMap((text) => [...text.matchAll(/\$(\{[^}]*\}|\w+)/g)].map((m) => m[1]!));
    expect(references.length).toBeGreaterThan(0);
    // $NAME, never ${NAME}: Grafana expands ${NAME} and then the result again, so a `$` in a password or token breaks it.
    for (const reference of references) {
      expect(reference, `"$${reference}" must be $NAME of an environment variable`).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(envNames, `unknown environment variable ${reference}`).toContain(reference);
    }
  });

  it('expand a secret with a `$` in it intact (Grafana: ${NAME}, then $NAME, then the result of both again)', () => {
    const env: Record<string, string> = { GRAFANA_MYSQL_PASSWORD: 'pa$sw0rd', WEBHOOK_TOKEN: 't$k{x}$$' };
    // pkg/services/provisioning/values: setting.ExpandVar replaces ${NAME}, then os.ExpandEnv expands what results.
    const expandEnv = (text: string) =>
      text.replace(/\$(\{([^}]*)\}|([A-Za-z0-9_]+))/g, (_, __, braced, bare) => env[braced ?? bare] ?? '');
    const expandBraced = (text: string) => text.replace(/\$\{([^}]*)\}/g, (_, name: string) => env[name] ?? '');
    const grafanaExpands = (value: string) =>
      value
        .split('$$')
        .map((part) => expandEnv(expandBraced(part)))
        .join('$');
    const datasources = parseYaml('provisioning/datasources/datasources.yaml').datasources as { secureJsonData: { password: string } }[];
    const registry = datasources.find((d: any) => d.uid === 'registry')!;
    expect(grafanaExpands(registry.secureJsonData.password)).toBe('pa$sw0rd');
    const [point] = parseYaml('provisioning/alerting/contact-points.yaml').contactPoints;
    expect(grafanaExpands(point.receivers[0].settings.authorization_credentials)).toBe('t$k{x}$$');
    expect(grafanaExpands('${GRAFANA_MYSQL_PASSWORD}')).not.toBe('pa$sw0rd');
  });

  it('log the datasources in as the read-only users the init scripts create, never as the API', () => {
    const datasources = parseYaml('provisioning/datasources/datasources.yaml').datasources as any[];
    // Prometheus has no users: compose publishes it on loopback only, and its query API cannot write.
    const prometheus = datasources.filter((d) => d.type === 'prometheus');
    expect(prometheus.map((d) => [d.url, d.user, d.secureJsonData])).toEqual([['http://prometheus:9090', undefined, undefined]]);
    const credentials = Object.fromEntries(
      datasources.filter((d) => d.type !== 'prometheus').map((d) => [d.type, [d.user, d.secureJsonData.password]]),
    );
    expect(credentials).toEqual({
      influxdb: ['$GRAFANA_INFLUXDB_USER', '$GRAFANA_INFLUXDB_PASSWORD'],
      mysql: ['$GRAFANA_MYSQL_USER', '$GRAFANA_MYSQL_PASSWORD'],
    });
    // MySQL: SELECT and nothing else for that user.
    const mysqlInit = fs.readFileSync(path.join(REPO_DIR, 'deploy/mysql/init/grafana-reader.sh'), 'utf8');
    expect(mysqlInit).toContain('"$GRAFANA_MYSQL_USER"');
    expect([...mysqlInit.matchAll(/^\s*GRANT ([^;]+?) ON/gim)].map(([, privileges]) => privileges)).toEqual(['SELECT']);
    // InfluxDB: a v1 user with read access to the bucket only.
    const influxInit = fs.readFileSync(path.join(REPO_DIR, 'deploy/influxdb/init/v1-compatibility.sh'), 'utf8');
    const grafanaUser = /^ensure_v1_user "\$GRAFANA_INFLUXDB_USER"[^\n]*\\\n([^\n]*)$/m.exec(influxInit);
    expect(grafanaUser?.[1]?.trim()).toBe('--read-bucket "$DOCKER_INFLUXDB_INIT_BUCKET_ID"');
  });
});

describe.each(dashboardFiles)('dashboard %s', (file) => {
  const load = () => {
    const dashboard = readDashboard(file);
    return { panels: allPanels(dashboard.panels), variables: dashboard.templating.list ?? [] };
  };

  it('queries only provisioned datasources', () => {
    const { panels, variables } = load();
    const uids = provisionedDatasourceUids();
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(uids, `panel "${panel.title}"`).toContain(panel.datasource?.uid);
      for (const target of panel.targets ?? []) expect(uids, `a query of panel "${panel.title}"`).toContain(target.datasource?.uid);
    }
    for (const variable of variables.filter((v) => v.type === 'query'))
      expect(uids, `variable ${variable.name}`).toContain(variable.datasource?.uid);
  });

  it('reads only fields the measurements have, always within the time range', () => {
    const { panels, variables } = load();
    const queries = panels.flatMap((p) => p.targets ?? []).flatMap((t) => (t.query ? [t.query] : []));
    expect(queries.every((q) => q.includes('$timeFilter'))).toBe(true);
    expect(queries.flatMap((q) => fieldsProblems(q, variables))).toEqual([]);
  });

  it('reads no raw points: every InfluxQL column is an aggregate or a sample', () => {
    const { panels } = load();
    const queries = panels.flatMap((p) => p.targets ?? []).flatMap((t) => (t.query ? [t.query] : []));
    const raw = queries.filter((q) => {
      const columns = /^SELECT (.+?) FROM /.exec(q)?.[1] ?? '';
      return columns.split(/,(?![^(]*\))/).some((column) => !/^\s*[a-z_]+\(/i.test(column));
    });
    expect(raw).toEqual([]);
  });

  it('numbers panels uniquely and names every query', () => {
    const { panels } = load();
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id) && id! > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(refIds.every(Boolean) && new Set(refIds).size === refIds.length, `queries of "${panel.title}"`).toBe(true);
    }
  });

  it('lays panels out on the 24-column grid without overlaps', () => {
    const { panels } = load();
    const boxes = panels.map((p) => ({ title: p.title, ...p.gridPos! }));
    for (const box of boxes) {
      expect(box.x >= 0 && box.w > 0 && box.h > 0 && box.x + box.w <= 24, `"${box.title}" off the grid`).toBe(true);
    }
    boxes.forEach((a, i) =>
      boxes.slice(i + 1).forEach((b) => {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `"${a.title}" overlaps "${b.title}"`).toBe(false);
      }),
    );
  });
});

describe('registry panels', () => {
  let dir: string;
  let registryUrl: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grafana-sql-'));
    registryUrl = `sqlite:${path.join(dir, 'registry.db')}`;
    const registry = await SqlRegistry.open(registryUrl);
    const { request } = await registry.recordRetrainRequest({ modelName: 'distance', trigger: 'grafana', payload: {}, dedupeKey: 'f@t' });
    await registry.settleRetrainRequest(request.id, { outcome: 'started', workflowId: 'w', runId: 'r', coverage: 'this-run' });
    await registry.recordRetrainRequest({ modelName: 'distance', trigger: 'grafana', payload: {}, dedupeKey: 'f@t' });
    await registry.close();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('run against the registry schema, and the ISO time range finds requests recorded now', async () => {
    const sql = dashboardFiles
      .flatMap((f) => allPanels(readDashboard(f).panels))
      .flatMap((p) => p.targets ?? [])
      .flatMap((t) => (t.rawSql ? [t.rawSql] : []));
    expect(sql.length).toBeGreaterThan(0);
    const hour = 3_600_000;
    const inRange = (q: string) =>
      q
        .replaceAll('${__from:date:iso}', new Date(Date.now() - hour).toISOString())
        .replaceAll('${__to:date:iso}', new Date(Date.now() + hour).toISOString());
    const db = knexFromUrl(registryUrl);
    try {
      const results = await Promise.all(sql.map(async (q) => (await db.raw(inRange(q))) as Record<string, unknown>[]));
      const outcomes = results.find((rows) => rows.length === 1 && 'runs started' in rows[0]);
      expect(outcomes?.[0]).toMatchObject({ 'runs started': 1, 'repeated alerts': 1 });
    } finally {
      await db.destroy();
    }
  });
});

describe('drift alert rule', () => {
  const load = () => {
    const { groups } = parseYaml('provisioning/alerting/drift-rules.yaml') as { groups: { rules: any[] }[] };
    const rules = groups.flatMap((g) => g.rules);
    const rule = rules.find((r) => r.title === DRIFT_RULE.alertName);
    if (!rule) throw new Error(`no rule titled ${DRIFT_RULE.alertName}`);
    const query = (refId: string): AlertQuery => rule.data.find((q: AlertQuery) => q.refId === refId);
    return { rules, rule, query };
  };

  it('exists once, named as core/features/driftRule.ts names it', () => {
    const { rules } = load();
    expect(rules.filter((r) => r.title === DRIFT_RULE.alertName)).toHaveLength(1);
  });

  it('fires on the band and pending time of driftRule.ts, with the semantics of isOutsideBand', () => {
    const { rule, query } = load();
    const threshold = query(rule.condition);
    expect(threshold.model.type).toBe('threshold');
    const [{ evaluator }] = threshold.model.conditions as { evaluator: { type: string; params: number[] } }[];
    expect(evaluator.params).toEqual([DRIFT_RULE.band.min, DRIFT_RULE.band.max]);
    const { min, max } = DRIFT_RULE.band;
    for (const value of [min - 1e-6, min, (min + max) / 2, max, max + 1e-6, 0, 255]) {
      expect(grafanaThreshold(evaluator.type, evaluator.params, value), `mean ${value}`).toBe(isOutsideBand(value));
    }
    expect(rule.for).toBe(`${DRIFT_RULE.pendingMinutes}m`);
  });

  it('thresholds the mean of driftRule.ts field over its window, per deployment, from the provisioned InfluxDB', () => {
    const { rule, query } = load();
    const threshold = query(rule.condition);
    const reduce = query(threshold.model.expression!);
    expect(reduce.model.type).toBe('reduce');
    const source = query(reduce.model.expression!);
    expect(provisionedDatasourceUids()).toContain(source.datasourceUid);
    expect(source.relativeTimeRange).toEqual({ from: DRIFT_RULE.windowMinutes * 60, to: 0 });
    expect(source.model.query).toMatch(
      new RegExp(`^SELECT mean\\("${DRIFT_RULE.field}"\\) FROM "inference" WHERE \\$timeFilter GROUP BY "deployment"$`),
    );
    expect(fieldsProblems(source.model.query!, [])).toEqual([]);
  });

  it("links to a drift dashboard panel that shows the same field, and says its buckets differ from the rule's window", () => {
    const { rule } = load();
    const dashboard = dashboardFiles.map(readDashboard).find((d) => d.uid === rule.dashboardUid);
    const panel = allPanels(dashboard?.panels ?? []).find((p) => p.id === rule.panelId) as PanelJson & { description?: string };
    expect(panel?.targets?.[0]?.query).toContain(`mean("${DRIFT_RULE.field}")`);
    expect(panel?.targets?.[0]?.query).toContain(`GROUP BY time(${DRIFT_RULE.windowMinutes}m)`);
    expect(panel?.description).toMatch(/fixed .*buckets.*sliding window/);
  });

  it('isOutsideBand is strict at both edges', () => {
    expect([39.9, 40, 50, 60, 60.1].map((v) => isOutsideBand(v))).toEqual([true, false, false, false, true]);
  });
});

const driftDashboard = () => readDashboard('dashboards/drift.json');
/** The drift dashboard's queries of the drift_check series, with the panel each belongs to. */
function driftCheckQueries() {
  return allPanels(driftDashboard().panels).flatMap((panel) =>
    (panel.targets ?? []).flatMap((t) =>
      t.query && t.query.includes(`FROM "${DRIFT_CHECK_MEASUREMENT}"`) ? [{ panel, query: t.query }] : [],
    ),
  );
}
/** The fields a query aggregates: `fn("field")`. */
const fieldsRead = (query: string) => [...query.matchAll(/\w+\("([^"]+)"\)/g)].map((m) => m[1]);

describe('drift monitor panels', () => {
  it("read the drift_check series only for the dashboard's chosen deployments", () => {
    const queries = driftCheckQueries();
    expect(queries.length).toBeGreaterThan(0);
    const deployment = driftDashboard().templating.list?.find((v) => v.name === 'deployment');
    expect(deployment?.type).toBe('query');
    for (const { query } of queries) expect(query).toContain('"deployment" =~ /^$deployment$/ AND $timeFilter');
  });

  it('show every verdict and every statistic of a check', () => {
    const read = new Set(driftCheckQueries().flatMap(({ query }) => fieldsRead(query)));
    for (const field of [...Object.values(DRIFT_VERDICT_FIELDS), ...DRIFT_STATISTIC_FIELDS]) expect(read, field).toContain(field);
  });

  it('plot the verdicts per deployment and serving version in one panel, and link the verdict rule to it', () => {
    const verdictFields = Object.values(DRIFT_VERDICT_FIELDS);
    const [verdicts, ...others] = driftCheckQueries().filter(({ query }) => verdictFields.some((f) => fieldsRead(query).includes(f)));
    expect(others).toEqual([]);
    expect(fieldsRead(verdicts!.query).sort()).toEqual([...verdictFields].sort());
    expect(verdicts!.query).toMatch(/GROUP BY time\(\$__interval\), "deployment", "model_version"/);
    const { rule } = loadRule(DRIFT_MONITOR_ALERT.alertName);
    expect(rule.dashboardUid).toBe(driftDashboard().uid);
    expect(rule.panelId).toBe(verdicts!.panel.id);
  });

  it.each(FEATURE_STATISTICS)('give the %s statistic a panel with one series per image characteristic', (statistic) => {
    const expected = IMAGE_CHARACTERISTIC_FIELDS.map((f) => featureStatisticField(statistic, f));
    const panels = driftCheckQueries().filter(({ query }) => fieldsRead(query).some((f) => expected.includes(f)));
    expect(panels).toHaveLength(1);
    const { query } = panels[0]!;
    expect(fieldsRead(query)).toEqual(expected);
    const names = [...query.matchAll(/ AS "([^"]+)"/g)].map((m) => m[1]);
    expect(names).toEqual([...IMAGE_CHARACTERISTIC_FIELDS]);
  });
});

describe('drift monitor verdict rule', () => {
  const query = (rule: any, refId: string): AlertQuery => rule.data.find((q: AlertQuery) => q.refId === refId);

  it("fires per deployment, model and serving version when the window's last check found drift", () => {
    const { rule } = loadRule(DRIFT_MONITOR_ALERT.alertName);
    const threshold = query(rule, rule.condition);
    expect(threshold.model.type).toBe('threshold');
    const [{ evaluator }] = threshold.model.conditions as { evaluator: { type: string; params: number[] } }[];
    expect([0, 1].map((verdict) => grafanaThreshold(evaluator.type, evaluator.params, verdict))).toEqual([false, true]);
    const reduce = query(rule, threshold.model.expression!);
    expect(reduce.model).toMatchObject({ type: 'reduce', reducer: 'last' });
    const source = query(rule, reduce.model.expression!);
    expect(provisionedDatasourceUids()).toContain(source.datasourceUid);
    expect(source.relativeTimeRange).toEqual({ from: DRIFT_MONITOR_ALERT.windowMinutes * 60, to: 0 });
    expect(source.model.query).toBe(
      `SELECT last("${DRIFT_VERDICT_FIELDS.drift}") FROM "${DRIFT_CHECK_MEASUREMENT}" WHERE $timeFilter GROUP BY "deployment", "model", "model_version"`,
    );
    expect(fieldsProblems(source.model.query!, [])).toEqual([]);
    expect(rule).toMatchObject({
      for: `${DRIFT_MONITOR_ALERT.pendingMinutes}m`,
      noDataState: 'OK',
      execErrState: 'Error',
      isPaused: false,
    });
  });

  it('names in its annotations only labels its query groups by', () => {
    const { rule } = loadRule(DRIFT_MONITOR_ALERT.alertName);
    const grouped = /GROUP BY (.*)$/
      .exec(query(rule, 'A').model.query!)![1]!
      .split(', ')
      .map((t) => t.replaceAll('"', ''));
    const used = [...JSON.stringify(rule.annotations).matchAll(/\$labels\.(\w+)/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(0);
    for (const label of used) expect(grouped).toContain(label);
  });

  it('leaves the band rule paused (an option, off by default), and says so', () => {
    const { rule } = loadRule(DRIFT_RULE.alertName);
    expect(rule.isPaused).toBe(true);
    expect(rule.annotations.description).toMatch(/paused/i);
  });

  it('goes to the retrain contact point, grouped per deployment, on a route of its own', () => {
    const { policies } = parseYaml('provisioning/alerting/notification-policies.yaml') as { policies: any[] };
    const labels = { alertname: DRIFT_MONITOR_ALERT.alertName, deployment: 'd', model: 'm', model_version: '3' };
    expect(receiverFor(policies[0], labels)).toBe('mlops-retrain');
    const routes = policies[0].routes.filter((r: any) =>
      r.object_matchers?.some((m: string[]) => m.join(' ') === `alertname = ${DRIFT_MONITOR_ALERT.alertName}`),
    );
    expect(routes).toHaveLength(1);
    expect(routes[0].group_by).toEqual(expect.arrayContaining(['deployment']));
  });
});

describe('sensor fault rule', () => {
  const query = (rule: any, refId: string): AlertQuery => rule.data.find((q: AlertQuery) => q.refId === refId);

  it("fires per deployment and model while the window's last check left suspect rovers out", () => {
    const { rule } = loadRule(SENSOR_FAULT_ALERT.alertName);
    const threshold = query(rule, rule.condition);
    const [{ evaluator }] = threshold.model.conditions as { evaluator: { type: string; params: number[] } }[];
    expect([0, 1].map((flag) => grafanaThreshold(evaluator.type, evaluator.params, flag))).toEqual([false, true]);
    const source = query(rule, query(rule, threshold.model.expression!).model.expression!);
    expect(source.model.query).toBe(
      `SELECT last("${DRIFT_VERDICT_FIELDS.sensorFault}") FROM "${DRIFT_CHECK_MEASUREMENT}" WHERE $timeFilter GROUP BY "deployment", "model"`,
    );
    expect(fieldsProblems(source.model.query!, [])).toEqual([]);
    expect(rule).toMatchObject({ noDataState: 'OK', execErrState: 'Error', isPaused: false });
    const used = [...JSON.stringify(rule.annotations).matchAll(/\$labels\.(\w+)/g)].map((m) => m[1]);
    for (const label of used) expect(['deployment', 'model']).toContain(label);
  });

  it("goes to the API's webhook contact point, never the retrain one, grouped per deployment", () => {
    const { policies } = parseYaml('provisioning/alerting/notification-policies.yaml') as { policies: any[] };
    expect(receiverFor(policies[0], { alertname: SENSOR_FAULT_ALERT.alertName, deployment: 'd', model: 'm' })).toBe('mlops-api');
    const [route] = policies[0].routes.filter((r: any) =>
      r.object_matchers?.some((m: string[]) => m.join(' ') === `alertname = ${SENSOR_FAULT_ALERT.alertName}`),
    );
    expect(route.group_by).toEqual(expect.arrayContaining(['deployment']));
  });
});

/** Grafana's (Alertmanager's) routing: the first child route whose matchers all match, recursively; else the parent. */
function receiverFor(route: any, labels: Record<string, string>, inherited = ''): string {
  const receiver: string = route.receiver ?? inherited;
  for (const child of route.routes ?? []) {
    const matches = (child.object_matchers ?? []).every(([name, op, value]: string[]) => {
      const actual = labels[name!] ?? '';
      const regex = new RegExp(`^(?:${value})$`);
      return { '=': actual === value, '!=': actual !== value, '=~': regex.test(actual), '!~': !regex.test(actual) }[op!];
    });
    if (matches) return receiverFor(child, labels, receiver);
  }
  return receiver;
}

function loadRule(title: string = DRIFT_RULE.alertName) {
  const { groups } = parseYaml('provisioning/alerting/drift-rules.yaml') as { groups: { rules: any[] }[] };
  const rule = groups.flatMap((g) => g.rules).find((r) => r.title === title);
  if (!rule) throw new Error(`no rule titled ${title}`);
  return { rule };
}

describe('retrain contact point and notification policy', () => {
  const load = () => {
    const { contactPoints } = parseYaml('provisioning/alerting/contact-points.yaml') as {
      contactPoints: { name: string; receivers: any[] }[];
    };
    const { policies } = parseYaml('provisioning/alerting/notification-policies.yaml') as { policies: any[] };
    const driftRoute = policies[0].routes.find((r: any) =>
      r.object_matchers?.some((m: string[]) => m.join(' ') === `alertname = ${DRIFT_RULE.alertName}`),
    );
    return { driftRoute, contactPoint: contactPoints.find((c) => c.name === driftRoute?.receiver) };
  };

  it.each([DRIFT_RULE.alertName, DRIFT_MONITOR_ALERT.alertName])(
    'routes every alert rule %s can raise (firing, DatasourceError, DatasourceNoData) and any other to a provisioned contact point',
    (title) => {
      const { contactPoints } = parseYaml('provisioning/alerting/contact-points.yaml') as { contactPoints: { name: string }[] };
      const { policies } = parseYaml('provisioning/alerting/notification-policies.yaml') as { policies: any[] };
      const { rule } = loadRule(title);
      // The states the rule's settings can turn into alerts, by the alertname Grafana gives them.
      const alertnameOf: Record<string, string> = { Alerting: rule.title, Error: 'DatasourceError', NoData: 'DatasourceNoData', OK: '' };
      const alertnames = [
        rule.title,
        alertnameOf[rule.execErrState]!,
        alertnameOf[rule.noDataState]!,
        'DatasourceError',
        'DatasourceNoData',
        'AnyOtherAlert',
      ];
      const provisioned = new Set(contactPoints.map((c) => c.name));
      const unrouted = alertnames
        .filter(Boolean)
        .map((alertname) => [alertname, receiverFor(policies[0], { alertname, rulename: rule.title })] as const)
        .filter(([, receiver]) => !provisioned.has(receiver));
      expect(unrouted).toEqual([]);
      expect(receiverFor(policies[0], { alertname: rule.title, deployment: 'd' })).toBe('mlops-retrain');
      expect(receiverFor(policies[0], { alertname: 'DatasourceError', rulename: rule.title })).not.toBe('mlops-retrain');
    },
  );

  it('routes the drift alert, grouped per deployment, to a provisioned contact point', () => {
    const { driftRoute, contactPoint } = load();
    expect(driftRoute?.group_by).toEqual(expect.arrayContaining(['alertname', 'deployment']));
    expect(contactPoint).toBeDefined();
  });

  it('posts to the API webhook route with the Bearer token from WEBHOOK_TOKEN', () => {
    const { contactPoint } = load();
    expect(contactPoint).toBeDefined();
    const [receiver] = contactPoint!.receivers;
    expect(receiver.type).toBe('webhook');
    expect(receiver.settings).toMatchObject({
      httpMethod: 'POST',
      authorization_scheme: 'Bearer',
      authorization_credentials: '$WEBHOOK_TOKEN',
    });
    const route = /^\$API_URL(\/.*)$/.exec(receiver.settings.url)?.[1];
    const deps = {
      registry: {},
      admin: (_req: unknown, _res: unknown, next: () => void) => next(),
      webhookToken: 'webhook',
    } as unknown as RetrainRouteDeps;
    const served = (retrainRoutes(deps) as unknown as { stack: { route?: { path: string; methods: Record<string, boolean> } }[] }).stack
      .filter((layer) => layer.route?.methods.post)
      .map((layer) => layer.route!.path);
    expect(served).toContain(route);
    expect(route).toBe('/webhooks/grafana');
  });
});
