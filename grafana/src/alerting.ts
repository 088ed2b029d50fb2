import {
  ContactPointBuilder,
  NotificationPolicyBuilder,
  QueryBuilder,
  RuleBuilder,
  RuleGroupBuilder,
  type ContactPoint,
  type Query,
} from '@grafana/grafana-foundation-sdk/alerting';
import { TypeReduceBuilder, TypeThresholdBuilder } from '@grafana/grafana-foundation-sdk/expr';
import { DRIFT_CHECK_MEASUREMENT, DRIFT_VERDICT_FIELDS } from '../../core/drift/driftSeries.js';
import {
  DRIFT_MONITOR_ALERT,
  DRIFT_MONITOR_ALERT_LABELS,
  SENSOR_FAULT_ALERT,
  SENSOR_FAULT_ALERT_LABELS,
} from '../../core/drift/monitorAlert.js';
import { DRIFT_RULE, DRIFT_RULE_SUMMARY, type DriftRule } from '../../core/features/driftRule.js';
import { INFLUXDB } from './datasources.js';
import { InfluxQLQueryBuilder } from './queries.js';

/*
 * Unified alerting file provisioning (apiVersion 1). The SDK's alerting types are those of the provisioning HTTP
 * API; the file format nests and names a few things differently, so each builder's result is mapped to it here.
 * Grafana 11 expands `$NAME` from its environment in contact point settings and rule labels, not in annotations
 * or query models (so `{{ $labels.x }}` and `$timeFilter` pass through). `$NAME`, never `${NAME}`: Grafana expands
 * `${NAME}` twice, so a `$` inside the webhook token would be taken for another variable (and every alert gets 401).
 */

/** The folder of the rule group; the dashboards provider uses the same title. */
export const GRAFANA_FOLDER = 'MLOps';
/** The contact point that asks our API for a retrain. */
const RETRAIN_CONTACT_POINT = 'mlops-retrain';
/**
 * Every other alert, and the alerts Grafana raises about a rule itself (DatasourceError when its query fails,
 * DatasourceNoData), also go to the API's webhook: it answers `ignored` to an alert without a `model` or known
 * `deployment` label. Grafana's default email contact point would fail silently: compose configures no SMTP.
 */
const API_CONTACT_POINT = 'mlops-api';
/** The alerts Grafana raises for a rule whose evaluation failed or found nothing (execErrState / noDataState). */
export const RULE_STATE_ALERTS = ['DatasourceError', 'DatasourceNoData'] as const;
/** The API's Grafana webhook route (api/routes/retrain.ts). */
const WEBHOOK_PATH = '/webhooks/grafana';
const EVALUATION_INTERVAL_SECONDS = 60;
const EXPRESSIONS = { type: '__expr__', uid: '__expr__' };
/**
 * The thesis's band rule is an option, off by default: the drift monitor's verdicts ask for retrains, and both
 * rules on would ask twice for one drift (the band rule's alerts are deduplicated per firing only). Set false and
 * run `npm run grafana` to have Grafana evaluate it as well.
 */
export const BAND_RULE_PAUSED = true;

export interface PanelLink {
  dashboardUid: string;
  panelId: number;
}

/**
 * A: the mean of the rule's field per deployment over the last window (one value per `deployment` tag, so each
 * alert instance carries a `deployment` label for the webhook); B: that value; C: outside the band.
 */
function driftAlertRule(rule: DriftRule): RuleBuilder {
  const { field, windowMinutes, band } = rule;
  return (
    new RuleBuilder(rule.alertName)
      .uid(`mlops-drift-${field.replaceAll('_', '-')}`)
      .withQuery(
        new QueryBuilder('A')
          .datasourceUid(INFLUXDB.uid!)
          .relativeTimeRange({ from: windowMinutes * 60, to: 0 })
          .model(new InfluxQLQueryBuilder(`SELECT mean("${field}") FROM "inference" WHERE $timeFilter GROUP BY "deployment"`).refId('A')),
      )
      .withQuery(
        new QueryBuilder('B')
          .datasourceUid(EXPRESSIONS.uid)
          .model(new TypeReduceBuilder().refId('B').datasource(EXPRESSIONS).expression('A').reducer('last').settings({ mode: 'dropNN' })),
      )
      .withQuery(
        new QueryBuilder('C').datasourceUid(EXPRESSIONS.uid).model(
          new TypeThresholdBuilder()
            .refId('C')
            .datasource(EXPRESSIONS)
            .expression('B')
            .conditions([{ evaluator: { type: 'outside_range', params: [band.min, band.max] } }]),
        ),
      )
      .condition('C')
      .forDuration(`${rule.pendingMinutes}m`)
      // No frames in the window is no evidence of drift; a failing query shows as an error, not as drift.
      .noDataState('OK')
      .execErrState('Error')
      .labels({ signal: field })
      .annotations({
        summary: DRIFT_RULE_SUMMARY,
        description: `Deployment {{ $labels.deployment }}: the ${windowMinutes}-minute mean of ${field} is {{ humanize $values.B.Value }}, outside ${band.min}..${band.max}. The webhook asks the API to retrain the deployment's model. Off by default (paused): the drift monitor's ${DRIFT_MONITOR_ALERT.alertName} rule asks for retrains; BAND_RULE_PAUSED in grafana/src/alerting.ts turns this one on.`,
      })
      .isPaused(BAND_RULE_PAUSED)
  );
}

/** B: the last value of A, C: above zero; no value at all is no evidence (noDataState OK). */
function lastValueAbove(expression: string, threshold: number) {
  return [
    new QueryBuilder('B')
      .datasourceUid(EXPRESSIONS.uid)
      .model(
        new TypeReduceBuilder().refId('B').datasource(EXPRESSIONS).expression(expression).reducer('last').settings({ mode: 'dropNN' }),
      ),
    new QueryBuilder('C').datasourceUid(EXPRESSIONS.uid).model(
      new TypeThresholdBuilder()
        .refId('C')
        .datasource(EXPRESSIONS)
        .expression('B')
        .conditions([{ evaluator: { type: 'gt', params: [threshold] } }]),
    ),
  ];
}

/**
 * The drift monitor's verdicts: A is the last `drift` of the window per deployment, model and serving version (so
 * each alert instance carries those labels, which the webhook turns into the monitor's own dedupe key); it fires
 * when that check found drift.
 */
function driftMonitorAlertRule(): RuleBuilder {
  const { windowMinutes } = DRIFT_MONITOR_ALERT;
  return lastDriftCheckRule('mlops-drift-monitor-verdict', DRIFT_MONITOR_ALERT, DRIFT_MONITOR_ALERT_LABELS, DRIFT_VERDICT_FIELDS.drift)
    .labels({ signal: DRIFT_CHECK_MEASUREMENT })
    .annotations({
      summary: 'the drift monitor found drift',
      description:
        `Deployment {{ $labels.deployment }} ({{ $labels.model }} v{{ $labels.model_version }}): the last drift check of the last ${windowMinutes} minutes found drift. ` +
        'The webhook asks the API to retrain the model once per deployment and serving version: when the monitor asked already, this alert is a duplicate.',
    });
}

/**
 * Suspect lasers: A is the last `sensor_fault` of the window per deployment and model; it fires while the last check
 * left suspect rovers out. Routed to the API's webhook, which records it and never retrains.
 */
function sensorFaultAlertRule(): RuleBuilder {
  const { windowMinutes } = SENSOR_FAULT_ALERT;
  return lastDriftCheckRule('mlops-sensor-fault', SENSOR_FAULT_ALERT, SENSOR_FAULT_ALERT_LABELS, DRIFT_VERDICT_FIELDS.sensorFault)
    .labels({ signal: 'sensor_fault' })
    .annotations({
      summary: "a rover's laser is suspect",
      description:
        `Deployment {{ $labels.deployment }} ({{ $labels.model }}): the last drift check of the last ${windowMinutes} minutes left suspect rovers out ` +
        '(GET /deployments/{{ $labels.deployment }}/sensors names them). Their frames leave training sets, drift checks and rollout evidence ' +
        'until cleared; the webhook records the alert and never asks for a retrain.',
    });
}

/** A rule on one 0/1 field of the drift checks: fires while its last value in the window, per `labels`, is 1. */
function lastDriftCheckRule(
  uid: string,
  alert: { alertName: string; windowMinutes: number; pendingMinutes: number },
  labels: readonly string[],
  field: string,
): RuleBuilder {
  const groupBy = labels.map((tag) => `"${tag}"`).join(', ');
  const rule = new RuleBuilder(alert.alertName).uid(uid).withQuery(
    new QueryBuilder('A')
      .datasourceUid(INFLUXDB.uid!)
      .relativeTimeRange({ from: alert.windowMinutes * 60, to: 0 })
      .model(
        new InfluxQLQueryBuilder(`SELECT last("${field}") FROM "${DRIFT_CHECK_MEASUREMENT}" WHERE $timeFilter GROUP BY ${groupBy}`).refId(
          'A',
        ),
      ),
  );
  for (const query of lastValueAbove('A', 0.5)) rule.withQuery(query);
  return rule.condition('C').forDuration(`${alert.pendingMinutes}m`).noDataState('OK').execErrState('Error');
}

const fileQuery = (q: Query) => ({
  refId: q.refId,
  relativeTimeRange: q.relativeTimeRange,
  datasourceUid: q.datasourceUid,
  model: q.model,
});

export interface RuleLinks {
  /** The monitor-verdict rule's panel. */
  monitor: PanelLink;
  /** The band rule's panel. */
  band: PanelLink;
}

export function alertRulesProvisioning(links: RuleLinks, rule: DriftRule = DRIFT_RULE) {
  const group = new RuleGroupBuilder('drift')
    .interval(EVALUATION_INTERVAL_SECONDS)
    .withRule(driftMonitorAlertRule())
    .withRule(driftAlertRule(rule))
    .withRule(sensorFaultAlertRule())
    .build();
  // The verdicts panel shows the sensor-fault column too.
  const onVerdicts = new Set<string>([DRIFT_MONITOR_ALERT.alertName, SENSOR_FAULT_ALERT.alertName]);
  const linkOf = (title: string) => (onVerdicts.has(title) ? links.monitor : links.band);
  return {
    apiVersion: 1,
    groups: [
      {
        orgId: 1,
        name: group.title,
        folder: GRAFANA_FOLDER,
        interval: `${group.interval}s`,
        rules: (group.rules ?? []).map((r) => ({
          uid: r.uid,
          title: r.title,
          condition: r.condition,
          data: r.data.map(fileQuery),
          dashboardUid: linkOf(r.title).dashboardUid,
          panelId: linkOf(r.title).panelId,
          noDataState: r.noDataState,
          execErrState: r.execErrState,
          for: r.for,
          labels: r.labels,
          annotations: r.annotations,
          isPaused: r.isPaused ?? false,
        })),
      },
    ],
  };
}

function apiWebhook(name: string, uid: string): ContactPoint {
  return new ContactPointBuilder()
    .name(name)
    .uid(uid)
    .type('webhook')
    .settings({
      url: `$API_URL${WEBHOOK_PATH}`,
      httpMethod: 'POST',
      authorization_scheme: 'Bearer',
      authorization_credentials: '$WEBHOOK_TOKEN',
    })
    .disableResolveMessage(false)
    .build();
}

export function contactPointsProvisioning() {
  const points = [apiWebhook(RETRAIN_CONTACT_POINT, 'mlops-retrain-webhook'), apiWebhook(API_CONTACT_POINT, 'mlops-api-webhook')];
  return {
    apiVersion: 1,
    contactPoints: points.map((point) => ({
      orgId: 1,
      name: point.name,
      receivers: [{ uid: point.uid, type: point.type, settings: point.settings, disableResolveMessage: point.disableResolveMessage }],
    })),
  };
}

/**
 * Drift alerts (the monitor's verdicts, and the band rule when it is on) go to the retrain webhook, one notification
 * group per deployment. A repeat of a firing alert is harmless: the API acts once per deployment and serving version
 * for a verdict, once per fingerprint and start time for any other alert. A failing drift query (DatasourceError) and every
 * other alert reach the API too, under the root policy's contact point, so nothing is sent to an unconfigured email.
 */
export function notificationPoliciesProvisioning(rule: DriftRule = DRIFT_RULE) {
  const root = new NotificationPolicyBuilder()
    .receiver(API_CONTACT_POINT)
    .groupBy(['grafana_folder', 'alertname'])
    .routes([
      new NotificationPolicyBuilder()
        .receiver(RETRAIN_CONTACT_POINT)
        .objectMatchers([['alertname', '=', DRIFT_MONITOR_ALERT.alertName]])
        .groupBy(['alertname', 'deployment'])
        .groupWait('10s')
        .groupInterval('5m')
        .repeatInterval('4h'),
      new NotificationPolicyBuilder()
        .receiver(RETRAIN_CONTACT_POINT)
        .objectMatchers([['alertname', '=', rule.alertName]])
        .groupBy(['alertname', 'deployment'])
        .groupWait('10s')
        .groupInterval('5m')
        .repeatInterval('4h'),
      // Recorded by the API, never a retrain: the API's contact point, one group per deployment.
      new NotificationPolicyBuilder()
        .receiver(API_CONTACT_POINT)
        .objectMatchers([['alertname', '=', SENSOR_FAULT_ALERT.alertName]])
        .groupBy(['alertname', 'deployment'])
        .groupWait('10s')
        .groupInterval('5m')
        .repeatInterval('4h'),
      new NotificationPolicyBuilder()
        .receiver(API_CONTACT_POINT)
        .objectMatchers([['alertname', '=~', RULE_STATE_ALERTS.join('|')]])
        .groupBy(['alertname', 'rulename'])
        .repeatInterval('1h'),
    ])
    .build();
  return { apiVersion: 1, policies: [{ orgId: 1, ...root }] };
}
