import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { loadConfig } from '../../core/config.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/shared.js';

/*
 * deploy/k8s is a kustomization: kustomize renders it as `kubectl apply -k` would, and kubeconform validates every
 * rendered object strictly (an unknown field fails) against the JSON schemas of the oldest and the newest Kubernetes
 * the manifests support, offline (scripts/install-k8s-validator.sh puts all three in .tools). What a schema cannot
 * see is checked here: the settings against .env.example and docker-compose.yml, the probes against the settings
 * they depend on, and that every name a manifest refers to exists. Each check is a function returning its problems
 * and also runs once on a copy broken on purpose, so a check that can no longer fail fails here.
 */

const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => fs.readFileSync(path.join(REPO_DIR, file), 'utf8');

const KUBECONFORM = path.join(REPO_DIR, '.tools/bin/kubeconform');
const KUSTOMIZE = path.join(REPO_DIR, '.tools/bin/kustomize');
const SCHEMAS = path.join(REPO_DIR, '.tools/k8s-schemas');
const INSTALLER = 'scripts/install-k8s-validator.sh';
const KUBERNETES_VERSIONS = read(INSTALLER)
  .match(/^KUBERNETES_VERSIONS="([^"]+)"$/m)![1]!
  .split(' ');

// Kubernetes objects are deep trees: the schemas type them (kubeconform), these checks read a few paths.
type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> } } & Record<string, any>;
type Container = Record<string, any> & { name: string };

const envExample = parseEnv(read('.env.example')) as Record<string, string>;
const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, { image?: string; command?: string[]; environment?: Record<string, string>; healthcheck?: { test: string[] } }>;
};
const composeAppEnv = compose.services.api!.environment!;

// --- Rendering and validating ---

let workDir: string;
beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-manifests-'));
});
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

/** What the installer puts in .tools that is not there. */
function missingTools(): string[] {
  return [KUBECONFORM, KUSTOMIZE, ...KUBERNETES_VERSIONS.map((v) => path.join(SCHEMAS, `v${v}-local-strict`))].filter(
    (file) => !fs.existsSync(file),
  );
}

/** `kustomize build` of deploy/k8s, with secrets.env made from secrets.env.example as an operator would. */
function render(): { text: string; objects: K8sObject[] } {
  const dir = fs.mkdtempSync(path.join(workDir, 'render-'));
  fs.cpSync(path.join(REPO_DIR, 'deploy/k8s'), dir, { recursive: true });
  fs.rmSync(path.join(dir, 'secrets.env'), { force: true });
  fs.copyFileSync(path.join(dir, 'secrets.env.example'), path.join(dir, 'secrets.env'));
  const text = execFileSync(KUSTOMIZE, ['build', dir], { encoding: 'utf8' });
  return { text, objects: parseAllDocuments(text).map((doc) => doc.toJSON() as K8sObject) };
}

interface KubeconformResult {
  kind: string;
  name: string;
  status: string;
  msg?: string;
}

/** kubeconform -strict on a stream of objects: each object's status and, when not valid, why. */
function kubeconform(text: string, kubernetesVersion: string): KubeconformResult[] {
  const started = performance.now();
  const run = spawnSync(
    KUBECONFORM,
    [
      '-strict',
      '-summary',
      '-verbose',
      '-output',
      'json',
      '-kubernetes-version',
      kubernetesVersion,
      '-schema-location',
      `${SCHEMAS}/{{.NormalizedKubernetesVersion}}-local{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json`,
      '-',
    ],
    { input: text, encoding: 'utf8' },
  );
  if (run.error || !run.stdout.startsWith('{')) throw new Error(`kubeconform did not run: ${run.error?.message ?? run.stderr}`);
  const { resources } = JSON.parse(run.stdout) as { resources: KubeconformResult[] };
  const failed = resources.some((r) => r.status !== 'statusValid');
  expect(run.status, run.stderr).toBe(failed ? 1 : 0);
  console.log(
    `[k8s] kubeconform: ${resources.length} objects, Kubernetes ${kubernetesVersion}, ${Math.round(performance.now() - started)} ms`,
  );
  return resources;
}

const problemsOf = (results: KubeconformResult[]) =>
  results.filter((r) => r.status !== 'statusValid').map((r) => `${r.kind} ${r.name}: ${r.status} ${r.msg ?? ''}`);

// --- Looking things up in the rendered objects ---

const copyOf = (objects: K8sObject[]): K8sObject[] => structuredClone(objects);
const objectOf = (objects: K8sObject[], kind: string, component: string) =>
  objects.find((o) => o.kind === kind && o.metadata.labels?.['app.kubernetes.io/component'] === component)!;
const podSpecOf = (object: K8sObject) => object.spec.template.spec as Record<string, any>;
const containerOf = (object: K8sObject, index = 0) => podSpecOf(object).containers[index] as Container;
const api = (objects: K8sObject[]) => objectOf(objects, 'StatefulSet', 'api');
const worker = (objects: K8sObject[]) => objectOf(objects, 'Deployment', 'worker');
const workloads = (objects: K8sObject[]) => objects.filter((o) => o.spec?.template?.spec);
const named = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

function dataOf(objects: K8sObject[], kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> | undefined {
  const object = named(objects, kind, name);
  if (!object) return undefined;
  const data = (object.data ?? {}) as Record<string, string>;
  if (kind === 'ConfigMap') return data;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** The environment a container starts with: envFrom in order, then env; a valueFrom reads `<valueFrom:...>`. */
function environmentOf(objects: K8sObject[], container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const [kind, ref] = source.configMapRef ? (['ConfigMap', source.configMapRef] as const) : (['Secret', source.secretRef] as const);
    Object.assign(env, dataOf(objects, kind, ref.name) ?? {});
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = String(variable.value);
    else if (variable.valueFrom?.configMapKeyRef) {
      const ref = variable.valueFrom.configMapKeyRef;
      env[variable.name] = dataOf(objects, 'ConfigMap', ref.name)?.[ref.key] ?? `<missing ${ref.name}/${ref.key}>`;
    } else env[variable.name] = `<valueFrom:${JSON.stringify(variable.valueFrom)}>`;
  }
  return env;
}

const QUANTITY_UNITS: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};
function quantity(text: string | number | undefined): number {
  const match = /^(\d+(?:\.\d+)?)([a-zA-Z]*)$/.exec(String(text ?? ''));
  if (!match || !(match[2]! in QUANTITY_UNITS)) return NaN;
  return Number(match[1]) * QUANTITY_UNITS[match[2]!]!;
}

// --- Settings: every one docker compose gives the app reaches both containers, with the values of .env.example. ---

function settingsProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const [component, object] of [
    ['api', api(objects)],
    ['worker', worker(objects)],
  ] as const) {
    const env = environmentOf(objects, containerOf(object));
    for (const name of Object.keys(composeAppEnv)) {
      if (!(name in env)) problems.push(`${component} lacks ${name}, which docker compose gives it`);
    }
    for (const name of Object.keys(env)) {
      if (!(name in composeAppEnv)) problems.push(`${component} gets ${name}, which docker compose does not give it`);
    }
  }
  const sources = containerOf(api(objects)).envFrom ?? [];
  const config = dataOf(objects, 'ConfigMap', sources.find((s: any) => s.configMapRef)?.configMapRef.name) ?? {};
  const secrets = dataOf(objects, 'Secret', sources.find((s: any) => s.secretRef)?.secretRef.name) ?? {};
  const apiEnv = environmentOf(objects, containerOf(api(objects)));
  for (const [name, composeValue] of Object.entries(composeAppEnv)) {
    const fromEnvExample = /^\$\{([A-Z0-9_]+)\}$/.exec(String(composeValue))?.[1];
    // Where the stores and Temporal are is the cluster's business; every other value is the same as compose's.
    const expected = fromEnvExample ? envExample[fromEnvExample] : /_(ADDRESS|URL)$/.test(name) ? undefined : String(composeValue);
    if (expected !== undefined && apiEnv[name] !== expected) {
      problems.push(`${name} is "${apiEnv[name]}" for the API, "${expected}" in ${fromEnvExample ? '.env.example' : 'docker-compose.yml'}`);
    }
  }
  for (const name of Object.keys(config)) {
    if (/PASSWORD|TOKEN/.test(name)) problems.push(`${name} is a credential in the ConfigMap, not the Secret`);
    if (name in secrets) problems.push(`${name} is in both the ConfigMap and the Secret`);
  }
  return problems;
}

// --- References: what a manifest names exists, and selectors select what they are meant to. ---

const selects = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

function referenceProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const pods = workloads(objects).map((w) => ({ workload: w, labels: w.spec.template.metadata?.labels as Record<string, string> }));
  for (const { workload, labels } of pods) {
    const where = `${workload.kind} ${workload.metadata.name}`;
    if (workload.spec.selector && !selects(workload.spec.selector.matchLabels, labels))
      problems.push(`${where} does not select its own pods`);
    const spec = podSpecOf(workload);
    for (const container of [...(spec.initContainers ?? []), ...spec.containers] as Container[]) {
      for (const source of container.envFrom ?? []) {
        const [kind, ref] = source.configMapRef ? ['ConfigMap', source.configMapRef] : ['Secret', source.secretRef];
        if (!named(objects, kind, ref.name)) problems.push(`${where} takes its environment from ${kind} ${ref.name}, which is not there`);
      }
      for (const variable of container.env ?? []) {
        const ref = variable.valueFrom?.configMapKeyRef;
        if (ref && dataOf(objects, 'ConfigMap', ref.name)?.[ref.key] === undefined) {
          problems.push(`${where} reads ${ref.key} from ConfigMap ${ref.name}, which does not have it`);
        }
      }
      const volumes = new Set((spec.volumes ?? []).map((v: { name: string }) => v.name));
      for (const claim of workload.spec.volumeClaimTemplates ?? []) volumes.add(claim.metadata.name);
      for (const mount of container.volumeMounts ?? []) {
        if (!volumes.has(mount.name)) problems.push(`${where} mounts ${mount.name}, which is no volume of its`);
      }
    }
  }
  const portNames = (labels: Record<string, string>) =>
    pods
      .filter((p) => p.labels === labels)
      .flatMap((p) =>
        podSpecOf(p.workload).containers.flatMap((c: Container) => (c.ports ?? []).map((port: { name: string }) => port.name)),
      );
  for (const service of objects.filter((o) => o.kind === 'Service')) {
    const target = pods.find((p) => selects(service.spec.selector, p.labels));
    if (!target) {
      problems.push(`Service ${service.metadata.name} selects no pods`);
      continue;
    }
    for (const port of service.spec.ports) {
      if (!portNames(target.labels).includes(port.targetPort)) {
        problems.push(`Service ${service.metadata.name} sends to port ${port.targetPort}, which its pods do not name`);
      }
    }
  }
  for (const budget of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
    if (!pods.some((p) => selects(budget.spec.selector.matchLabels, p.labels)))
      problems.push(`PodDisruptionBudget ${budget.metadata.name} selects no pods`);
  }
  for (const autoscaler of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    const { kind, name } = autoscaler.spec.scaleTargetRef;
    if (!named(objects, kind, name))
      problems.push(`HorizontalPodAutoscaler ${autoscaler.metadata.name} scales ${kind} ${name}, which is not there`);
  }
  for (const set of objects.filter((o) => o.kind === 'StatefulSet')) {
    const governing = named(objects, 'Service', set.spec.serviceName);
    if (governing?.spec.clusterIP !== 'None' || !selects(governing.spec.selector, set.spec.template.metadata.labels)) {
      problems.push(`StatefulSet ${set.metadata.name}'s serviceName ${set.spec.serviceName} is no headless Service of its pods`);
    }
  }
  return problems;
}

// --- The API: probes on /healthz and the load balancer's check, its spool on its own volume, time to drain, memory. ---

/** The check that takes an API replica out of rotation in the tested topology (HAProxy's, scripts/topology/). */
const BALANCER_CHECK_PATH = read('scripts/topology/haproxy-config.sh').match(/^\s*option httpchk GET (\S+)$/m)![1]!;

const probeWindowSeconds = (probe: Record<string, number> | undefined) => (probe?.periodSeconds ?? 10) * (probe?.failureThreshold ?? 3);

function apiProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const set = api(objects);
  const container = containerOf(set);
  const env = environmentOf(objects, container);
  const httpPort = (container.ports ?? []).find((p: { name: string }) => p.name === 'http');
  if (httpPort?.containerPort !== Number(env.API_PORT))
    problems.push(`the API listens on API_PORT ${env.API_PORT}, its port http is ${httpPort?.containerPort}`);
  for (const [probe, expectedPath] of [
    ['startupProbe', '/healthz'],
    ['livenessProbe', '/healthz'],
    ['readinessProbe', BALANCER_CHECK_PATH],
  ] as const) {
    const get = container[probe]?.httpGet;
    if (get?.path !== expectedPath || get?.port !== 'http') problems.push(`the API's ${probe} is not GET ${expectedPath} on port http`);
  }
  if (!(container.readinessProbe?.timeoutSeconds > Number(env.READY_CHECK_TIMEOUT_SECONDS))) {
    problems.push(
      `the readiness probe gives up before the API's own checks do (READY_CHECK_TIMEOUT_SECONDS ${env.READY_CHECK_TIMEOUT_SECONDS})`,
    );
  }
  if (!(probeWindowSeconds(container.startupProbe) > Number(env.MIGRATION_LOCK_TIMEOUT_SECONDS))) {
    problems.push(`the startup probe gives up before a start waiting MIGRATION_LOCK_TIMEOUT_SECONDS for the migration lock`);
  }
  const preStop = container.lifecycle?.preStop?.exec?.command as string[] | undefined;
  const preStopSeconds = preStop?.[0] === 'sleep' ? Number(preStop[1]) : 0;
  const grace = podSpecOf(set).terminationGracePeriodSeconds ?? 30;
  // api/server.ts drains its spool for at most 10 s on SIGTERM, or SHUTDOWN_DRAIN_SECONDS where that is a setting.
  const drainSeconds = Number(env.SHUTDOWN_DRAIN_SECONDS ?? 10);
  if (!(grace > preStopSeconds + Number(env.HTTP_REQUEST_TIMEOUT_SECONDS) + drainSeconds)) {
    problems.push(
      `terminationGracePeriodSeconds ${grace} leaves no time for preStop, a request's HTTP_REQUEST_TIMEOUT_SECONDS and the drain (${drainSeconds} s)`,
    );
  }
  const spool = (set.spec.volumeClaimTemplates ?? [])[0];
  const mount = (container.volumeMounts ?? []).find((m: { name: string }) => m.name === spool?.metadata.name);
  if (!spool || mount?.mountPath !== env.DATA_DIR)
    problems.push(`the API's DATA_DIR ${env.DATA_DIR} is not on its own volume (volumeClaimTemplates)`);
  else if (!(quantity(spool.spec.resources.requests.storage) > Number(env.SPOOL_MAX_BYTES))) {
    problems.push(`the spool volume (${spool.spec.resources.requests.storage}) is smaller than SPOOL_MAX_BYTES`);
  }
  if (set.spec.persistentVolumeClaimRetentionPolicy?.whenScaled !== 'Retain')
    problems.push('a scale-down deletes the spool volume of the replica it stops');
  const caches = ['MODEL_CACHE_MAX_BYTES', 'ANALYSIS_QUEUE_MAX_BYTES', 'INFLIGHT_MAX_BYTES'].reduce(
    (sum, name) => sum + Number(env[name]),
    0,
  );
  if (!(quantity(container.resources?.limits?.memory) > caches))
    problems.push(`the API's memory limit does not hold its model cache and queues (${caches} bytes)`);
  return problems;
}

// --- The workers: compose's command and health check, liveness on the metrics port, training sized to the CPU request. ---

function workerProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const container = containerOf(worker(objects));
  const env = environmentOf(objects, container);
  const metricsPort = Number(env.WORKER_METRICS_ADDRESS?.split(':').at(-1));
  const port = (container.ports ?? []).find((p: { name: string }) => p.name === 'metrics');
  if (port?.containerPort !== metricsPort)
    problems.push(`WORKER_METRICS_ADDRESS serves port ${metricsPort}, the worker's port metrics is ${port?.containerPort}`);
  for (const probe of ['startupProbe', 'livenessProbe'] as const) {
    if (container[probe]?.httpGet?.port !== 'metrics') problems.push(`the worker's ${probe} is not on its metrics port`);
  }
  const composeCheck = compose.services.worker!.healthcheck!.test.slice(1);
  if (JSON.stringify(container.readinessProbe?.exec?.command) !== JSON.stringify(composeCheck)) {
    problems.push(`the worker's readiness is not docker compose's health check (${composeCheck.join(' ')})`);
  }
  const parallelism = (container.env ?? []).find((v: { name: string }) => v.name === 'SWEEP_PARALLELISM');
  if (parallelism?.valueFrom?.resourceFieldRef?.resource !== 'requests.cpu' || env.ML_THREADS_PER_TRIAL !== '1') {
    problems.push('the worker does not size its trials to its CPU request (SWEEP_PARALLELISM, ML_THREADS_PER_TRIAL=1)');
  }
  if (!(quantity(container.resources?.requests?.cpu) >= 1)) problems.push('the worker requests less than one core');
  return problems;
}

// --- Pods run as the restricted Pod Security Standard asks. ---

function securityProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const workload of workloads(objects)) {
    const spec = podSpecOf(workload);
    for (const container of [...(spec.initContainers ?? []), ...spec.containers] as Container[]) {
      const where = `${workload.metadata.name}/${container.name}`;
      const context = { ...spec.securityContext, ...container.securityContext };
      if (context.runAsNonRoot !== true || !Number.isInteger(context.runAsUser) || context.runAsUser === 0) {
        problems.push(`${where} may run as root (runAsNonRoot and a numeric runAsUser)`);
      }
      if (context.allowPrivilegeEscalation !== false) problems.push(`${where} allows privilege escalation`);
      if (!context.capabilities?.drop?.includes('ALL')) problems.push(`${where} keeps its capabilities`);
      if (context.seccompProfile?.type !== 'RuntimeDefault') problems.push(`${where} runs without the runtime's seccomp profile`);
    }
  }
  return problems;
}

describe('deploy/k8s', () => {
  let rendered: { text: string; objects: K8sObject[] };
  beforeAll(() => {
    expect(missingTools(), `run: bash ${INSTALLER} (scripts/setup.sh does)`).toEqual([]);
    rendered = render();
  });

  it('renders the API, its Services, budget and autoscaler, the workers, the Temporal namespace job, config and secrets', () => {
    const kinds = rendered.objects.map((o) => `${o.kind} ${o.metadata.name.replace(/-[a-z0-9]{10}$/, '-<hash>')}`).sort();
    expect(kinds).toEqual([
      'ConfigMap edge-mlops-config-<hash>',
      'Deployment edge-mlops-worker',
      'HorizontalPodAutoscaler edge-mlops-api',
      'Job edge-mlops-temporal-init',
      'PodDisruptionBudget edge-mlops-api',
      'PodDisruptionBudget edge-mlops-worker',
      'Secret edge-mlops-secrets-<hash>',
      'Service edge-mlops-api',
      'Service edge-mlops-api-headless',
      'StatefulSet edge-mlops-api',
    ]);
  });

  it.each(KUBERNETES_VERSIONS)('is valid, strictly, against the schemas of Kubernetes %s', (version) => {
    const results = kubeconform(rendered.text, version);
    expect(problemsOf(results)).toEqual([]);
    expect(results).toHaveLength(rendered.objects.length);
  });

  it('fails validation on a misspelled field, a wrong type, a field in the wrong place and an unknown kind', () => {
    const broken = (change: (o: K8sObject) => void, pick = api) => {
      const objects = copyOf(rendered.objects);
      const object = pick(objects);
      change(object);
      object.metadata.name = `broken-${broken.count++}`;
      return object;
    };
    broken.count = 0;
    const objects = [
      broken((o) => (containerOf(o).livenessProbe.periodSecnds = 5)),
      broken((o) => (o.spec.minReadySeconds = 'ten')),
      broken((o) => (containerOf(o).terminationGracePeriodSeconds = podSpecOf(o).terminationGracePeriodSeconds)),
      broken((o) => (o.kind = 'StatefullSet')),
      broken((o) => (containerOf(o).readinessProbe.exec.command = 'node deploy/workerHealthcheck.ts'), worker),
    ];
    const results = kubeconform(objects.map((o) => stringify(o)).join('---\n'), KUBERNETES_VERSIONS.at(-1)!);
    const byName = Object.fromEntries(results.map((r) => [r.name, r]));
    expect(Object.keys(byName).sort()).toEqual(objects.map((o) => o.metadata.name));
    expect(results.filter((r) => r.status === 'statusValid')).toEqual([]);
    const reasons = [/periodSecnds' not allowed/, /minReadySeconds': got string/, /terminationGracePeriodSeconds' not allowed/];
    reasons.push(/could not find schema for StatefullSet/, /command': got string, want null or array/);
    expect(objects.map((o) => byName[o.metadata.name]!.msg)).toEqual(reasons.map((reason) => expect.stringMatching(reason)));
  });

  it('fails validation on a field the oldest supported Kubernetes does not have', () => {
    const [oldest, newest] = [KUBERNETES_VERSIONS[0]!, KUBERNETES_VERSIONS.at(-1)!];
    const objects = copyOf(rendered.objects);
    podSpecOf(worker(objects)).hostnameOverride = 'worker'; // new in 1.34 (alpha)
    const text = stringify(worker(objects));
    expect(problemsOf(kubeconform(text, newest))).toEqual([]);
    expect(problemsOf(kubeconform(text, oldest))).toEqual([expect.stringMatching(/hostnameOverride' not allowed/)]);
  });

  it('gives the API and the workers every setting docker compose gives them, with the values of .env.example, credentials in the Secret', () => {
    expect(settingsProblems(rendered.objects)).toEqual([]);

    const missing = copyOf(rendered.objects);
    const config = missing.find((o) => o.kind === 'ConfigMap')!;
    delete config.data.LOG_LEVEL;
    config.data.MYSQL_PASSWORD = 'x';
    expect(settingsProblems(missing)).toEqual(
      expect.arrayContaining([
        'api lacks LOG_LEVEL, which docker compose gives it',
        'worker lacks LOG_LEVEL, which docker compose gives it',
        'MYSQL_PASSWORD is a credential in the ConfigMap, not the Secret',
        'MYSQL_PASSWORD is in both the ConfigMap and the Secret',
      ]),
    );
    const changed = copyOf(rendered.objects);
    changed.find((o) => o.kind === 'ConfigMap')!.data.INFLIGHT_MAX_FRAMES = '64';
    containerOf(worker(changed)).env.push({ name: 'EXTRA_SETTING', value: '1' });
    expect(settingsProblems(changed)).toEqual([
      'worker gets EXTRA_SETTING, which docker compose does not give it',
      `INFLIGHT_MAX_FRAMES is "64" for the API, "${envExample.INFLIGHT_MAX_FRAMES}" in .env.example`,
    ]);
  });

  it('leaves out of .env.example only the settings of the servers that are external here', () => {
    // Every name .env.example has, also those it leaves empty or comments out (as composeFile.test.ts reads it).
    const names = [...read('.env.example').matchAll(/^\s*#?\s*([A-Z][A-Z0-9_]*)=/gm)].map(([, name]) => name!);
    const here = environmentOf(rendered.objects, containerOf(api(rendered.objects)));
    expect(names.filter((name) => !(name in here)).sort()).toEqual([
      // Grafana's, and the users and passwords of the stores' and Temporal's own administrators
      'GRAFANA_ADMIN_PASSWORD',
      'GRAFANA_ADMIN_USER',
      'GRAFANA_INFLUXDB_PASSWORD',
      'GRAFANA_INFLUXDB_USER',
      'GRAFANA_MYSQL_PASSWORD',
      'GRAFANA_MYSQL_USER',
      'GRAFANA_PORT',
      'INFLUXDB_ADMIN_PASSWORD',
      'INFLUXDB_ADMIN_USER',
      'MYSQL_ROOT_PASSWORD',
      'TEMPORAL_POSTGRES_PASSWORD',
      'TEMPORAL_POSTGRES_USER',
      // compose builds TEMPORAL_UI_URL from it; config.env sets TEMPORAL_UI_URL itself
      'TEMPORAL_UI_PORT',
    ]);
  });

  it('gives settings that core/config.ts accepts, once the image entrypoint has built the store URLs', () => {
    const env = environmentOf(rendered.objects, containerOf(api(rendered.objects)));
    const printed = execFileSync(
      'sh',
      ['deploy/app/entrypoint.sh', process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))'],
      {
        cwd: REPO_DIR,
        env: { PATH: process.env.PATH, ...env },
        encoding: 'utf8',
      },
    );
    const config = loadConfig(JSON.parse(printed) as Record<string, string>);
    expect(config.api).toMatchObject({ host: '0.0.0.0', port: Number(envExample.API_PORT) });
    expect(config.temporal).toMatchObject({ address: env.TEMPORAL_ADDRESS, devServer: false, namespace: envExample.TEMPORAL_NAMESPACE });
    expect(config.registryUrl).toMatch(/^mysql:\/\//);
    expect(config.measurementsUrl).toMatch(/^influxdb:\/\//);
    expect(config.objectsUrl).toMatch(/^s3:\/\//);
    expect(config.dataDir).toBe('/app/data');
  });

  it('refers only to objects, keys, volumes and ports that exist, and selects the pods it means', () => {
    expect(referenceProblems(rendered.objects)).toEqual([]);

    const broken = copyOf(rendered.objects);
    objectOf(broken, 'Service', 'api').spec.ports[0].targetPort = 'htp';
    objectOf(broken, 'HorizontalPodAutoscaler', 'api').spec.scaleTargetRef.name = 'edge-mlops-ap';
    containerOf(worker(broken)).envFrom[0].configMapRef.name = 'edge-mlops-config';
    expect(referenceProblems(broken)).toEqual([
      'Deployment edge-mlops-worker takes its environment from ConfigMap edge-mlops-config, which is not there',
      expect.stringMatching(/^Service edge-mlops-api(-headless)? sends to port htp/),
      'HorizontalPodAutoscaler edge-mlops-api scales StatefulSet edge-mlops-ap, which is not there',
    ]);
    const unselected = copyOf(rendered.objects);
    api(unselected).spec.template.metadata.labels['app.kubernetes.io/component'] = 'frontend';
    expect(referenceProblems(unselected)).toEqual(
      expect.arrayContaining([
        'StatefulSet edge-mlops-api does not select its own pods',
        'PodDisruptionBudget edge-mlops-api selects no pods',
        "StatefulSet edge-mlops-api's serviceName edge-mlops-api-headless is no headless Service of its pods",
      ]),
    );
  });

  it("runs the API as a StatefulSet: probes on /healthz and the tested load balancer's check, the spool on its own volume, time to drain it", () => {
    expect(BALANCER_CHECK_PATH).toMatch(/^\/readyz/);
    expect(apiProblems(rendered.objects)).toEqual([]);

    const broken = copyOf(rendered.objects);
    const container = containerOf(api(broken));
    container.readinessProbe.httpGet.path = '/healthz';
    container.readinessProbe.timeoutSeconds = 1;
    container.startupProbe.failureThreshold = 3;
    podSpecOf(api(broken)).terminationGracePeriodSeconds = 30;
    container.volumeMounts[0].mountPath = '/data';
    container.resources.limits.memory = '1Gi';
    expect(apiProblems(broken)).toEqual([
      `the API's readinessProbe is not GET ${BALANCER_CHECK_PATH} on port http`,
      "the readiness probe gives up before the API's own checks do (READY_CHECK_TIMEOUT_SECONDS 2)",
      'the startup probe gives up before a start waiting MIGRATION_LOCK_TIMEOUT_SECONDS for the migration lock',
      expect.stringMatching(/^terminationGracePeriodSeconds 30 leaves no time for preStop, a request's .* and the drain/),
      "the API's DATA_DIR /app/data is not on its own volume (volumeClaimTemplates)",
      "the API's memory limit does not hold its model cache and queues (1207959552 bytes)",
    ]);
  });

  it("runs the workers with compose's command and health check, live while their metrics port answers", () => {
    expect(workerProblems(rendered.objects)).toEqual([]);
    expect(containerOf(api(rendered.objects)).args).toEqual(compose.services.api!.command);
    expect(containerOf(worker(rendered.objects)).args).toEqual(compose.services.worker!.command);

    const broken = copyOf(rendered.objects);
    const container = containerOf(worker(broken));
    container.ports[0].containerPort = 9465;
    container.livenessProbe = { exec: { command: ['true'] } };
    container.readinessProbe.exec.command = ['node', 'deploy/workerHealthcheck.ts'];
    container.env = container.env.filter((v: { name: string }) => v.name !== 'SWEEP_PARALLELISM');
    expect(workerProblems(broken)).toHaveLength(4);
  });

  it('runs one image for the API, the workers and the namespace job, and sets up Temporal as docker compose does', () => {
    const images = workloads(rendered.objects).flatMap((w) =>
      [...(podSpecOf(w).initContainers ?? []), ...podSpecOf(w).containers].map((c: Container) => c.image as string),
    );
    const init = compose.services['temporal-init']!;
    expect(new Set(images)).toEqual(new Set(['edge-mlops-loop:local', init.image]));
    expect(compose.services.api!.image).toBe('edge-mlops-loop:local');
    const job = objectOf(rendered.objects, 'Job', 'temporal-init');
    const copied = podSpecOf(job).initContainers[0].command as string[];
    expect(copied.at(-2)).toBe('/app/deploy/temporal/init-namespace.sh');
    expect(fs.existsSync(path.join(REPO_DIR, 'deploy/temporal/init-namespace.sh'))).toBe(true);
    expect(containerOf(job).command).toEqual(['/bin/sh', copied.at(-1)]);
    const env = environmentOf(rendered.objects, containerOf(job));
    expect(env.TEMPORAL_SEARCH_ATTRIBUTES).toBe(init.environment!.TEMPORAL_SEARCH_ATTRIBUTES);
    const typeName = (type: string) => type.charAt(0) + type.slice(1).toLowerCase();
    expect(env.TEMPORAL_SEARCH_ATTRIBUTES!.split(' ')).toEqual(SEARCH_ATTRIBUTES.map((a) => `${a.name}=${typeName(a.type)}`));
    expect(env.TEMPORAL_NAMESPACE).toBe(envExample.TEMPORAL_NAMESPACE);
  });

  it('runs every container as the restricted Pod Security Standard asks', () => {
    expect(securityProblems(rendered.objects)).toEqual([]);
    const broken = copyOf(rendered.objects);
    delete podSpecOf(worker(broken)).securityContext.runAsUser;
    containerOf(objectOf(broken, 'Job', 'temporal-init')).securityContext.allowPrivilegeEscalation = true;
    expect(securityProblems(broken)).toEqual([
      'edge-mlops-worker/worker may run as root (runAsNonRoot and a numeric runAsUser)',
      'edge-mlops-temporal-init/init-namespace allows privilege escalation',
    ]);
  });

  it('takes requests and limits from one place, resources.yaml, which names the capacity plan', () => {
    const sources = ['api.yaml', 'worker.yaml', 'temporal-init.yaml'].flatMap((file) =>
      parseAllDocuments(read(`deploy/k8s/${file}`)).map((doc) => doc.toJSON() as K8sObject),
    );
    const elsewhere = workloads(sources).flatMap((w) =>
      podSpecOf(w)
        .containers.filter((c: Container) => c.resources)
        .map((c: Container) => c.name),
    );
    expect(elsewhere).toEqual([]);
    expect(read('deploy/k8s/resources.yaml')).toContain('docs/CAPACITY.md');
    for (const object of [api(rendered.objects), worker(rendered.objects)]) {
      const { requests, limits } = containerOf(object).resources;
      expect([quantity(requests.cpu), quantity(requests.memory), quantity(limits.memory)].every((n) => n > 0)).toBe(true);
      expect(quantity(limits.memory)).toBeGreaterThanOrEqual(quantity(requests.memory));
    }
  });
});
