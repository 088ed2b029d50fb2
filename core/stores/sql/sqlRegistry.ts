import type { MonitorConfig } from '../../drift/monitorConfig.js';
import path from 'node:path';
import type { Knex } from 'knex';
import {
  describeServingChange,
  FLEET_CHANGE_REASONS,
  fixedVersionOf,
  rollsOut,
  StoreError,
  type RegisteredClient,
  type Deployment,
  type DeploymentPatch,
  type Model,
  type ModelVersion,
  type NewDeployment,
  type NewModelVersion,
  type RegistryStore,
  type RolloutEnd,
  type RolloutStep,
  type NewRetrainRequest,
  type RetrainRequest,
  type ServingChange,
  type StoredServingChange,
  type Trial,
  type TrainingConfig,
  UnknownVersionError,
  type Viewer,
  type Annotation,
  type NewSensorFault,
  type SensorFault,
  type IdempotencyClaim,
  type IdempotencyClaimOutcome,
  type NewIdempotencyClaim,
  type ParkingRun,
  type ParkingSuccess,
} from '../registry.js';
import { KeyedTurns } from './keyedTurns.js';
import { knexFromUrl } from './knexFromUrl.js';
import { migrateToLatest, type MigrateOptions } from './migrations.js';
import { registryMigrations } from './registryMigrations.js';

const now = () => new Date().toISOString();
const sameMembers = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((id) => b.includes(id));
const json = (value: unknown) => JSON.stringify(value);
const parse = <T>(text: string | null): T => (text == null ? (null as T) : (JSON.parse(text) as T));

type Row = Record<string, any>;

const toClient = (r: Row): RegisteredClient => ({
  id: r.id,
  name: r.name,
  tokenHash: r.token_hash,
  deploymentId: r.deployment_id ?? null,
  createdAt: r.created_at,
});

const toDeployment = (r: Row): Deployment => ({
  id: r.id,
  modelName: r.model_name,
  modelVersion: r.model_version === 'latest' ? 'latest' : Number(r.model_version),
  strategy: r.strategy,
  rolloutPolicy: parse(r.rollout_policy ?? null),
  currentVersion: r.current_version == null ? null : Number(r.current_version),
  rollout:
    r.candidate_version == null
      ? null
      : {
          candidateVersion: Number(r.candidate_version),
          stage: r.rollout_stage,
          canaryClients: parse(r.canary_clients ?? '[]'),
          workflowId: r.rollout_workflow_id,
          startedAt: r.rollout_started_at,
          stageStartedAt: r.stage_started_at,
        },
  createdAt: r.created_at,
});

/** The columns of a deployment with no rollout in progress. */
const NO_ROLLOUT: Row = {
  candidate_version: null,
  rollout_stage: null,
  canary_clients: null,
  rollout_workflow_id: null,
  rollout_started_at: null,
  stage_started_at: null,
};

/** Serving changes after which every rover gets the `to` version: a rollback goes back to their `from`. */
const FLEET_CHANGES = [...FLEET_CHANGE_REASONS];

const storedChange = (r: Row): StoredServingChange => ({
  id: Number(r.id),
  deploymentId: r.deployment_id,
  at: r.at,
  modelName: r.model_name,
  toVersion: r.to_version == null ? null : Number(r.to_version),
  fromModelName: r.from_model_name ?? null,
  fromVersion: r.from_version == null ? null : Number(r.from_version),
  reason: r.reason,
  by: r.changed_by,
  note: parse(r.note ?? null),
  comment: r.comment ?? null,
});

const toServingChange = (r: Row): ServingChange => {
  const change = storedChange(r);
  return { ...change, ...describeServingChange(change) };
};

const describeServed = (modelName: string, version: number | null) =>
  version === null ? `no version of model "${modelName}"` : `version ${version} of model "${modelName}"`;

const toModel = (r: Row): Model => ({
  name: r.name,
  description: r.description,
  trainingConfig: parse(r.training_config ?? null),
  monitorConfig: parse(r.monitor_config ?? null),
  createdAt: r.created_at,
});

const toModelVersion = (r: Row): ModelVersion => ({
  modelName: r.model_name,
  version: Number(r.version),
  artifactKey: r.artifact_key,
  artifactSha256: r.artifact_sha256,
  architecture: r.architecture,
  metrics: parse(r.metrics),
  params: parse(r.params),
  trialId: r.trial_id,
  workflowId: r.workflow_id,
  runId: r.run_id,
  datasetKey: r.dataset_key,
  datasetSha256: r.dataset_sha256,
  sourceDeployments: parse(r.source_deployments),
  recordCount: Number(r.record_count),
  comparison: parse(r.comparison),
  referenceProfile: r.reference_profile_key ? { key: r.reference_profile_key, sha256: r.reference_profile_sha256 } : null,
  createdAt: r.created_at,
});

const toTrial = (r: Row): Trial => ({
  id: r.id,
  workflowId: r.workflow_id,
  runId: r.run_id,
  modelName: r.model_name,
  params: parse(r.params),
  metrics: parse(r.metrics),
  history: parse(r.history),
  artifactKey: r.artifact_key,
  artifactSha256: r.artifact_sha256,
  datasetKey: r.dataset_key,
  createdAt: r.created_at,
});

const toRetrainRequest = (r: Row): RetrainRequest => ({
  id: Number(r.id),
  modelName: r.model_name,
  trigger: r.trigger,
  payload: parse(r.payload),
  workflowId: r.workflow_id ?? null,
  runId: r.run_id ?? null,
  outcome: r.outcome,
  coverage: r.coverage ?? null,
  dedupeKey: r.dedupe_key ?? null,
  duplicateOf: r.duplicate_of == null ? null : Number(r.duplicate_of),
  createdAt: r.created_at,
});

const toViewer = (r: Row): Viewer => ({
  id: Number(r.id),
  name: r.name,
  tokenHash: r.token_hash,
  createdAt: r.created_at,
  createdBy: r.created_by,
});

const toAnnotation = (r: Row): Annotation => ({
  id: Number(r.id),
  time: r.time,
  text: r.text,
  tags: parse(r.tags),
  deployment: r.deployment_id ?? null,
  by: r.created_by,
});

const toSensorFault = (r: Row): SensorFault => ({
  id: Number(r.id),
  client: r.client,
  deployment: r.deployment,
  kinds: parse(r.kinds),
  evidence: parse(r.evidence),
  summary: r.summary,
  since: r.since,
  flaggedAt: r.flagged_at,
  updatedAt: r.updated_at,
  clearedAt: r.cleared_at ?? null,
  clearedBy: r.cleared_by ?? null,
  clearReason: r.clear_reason ?? null,
});

const toIdempotencyClaim = (r: Row): IdempotencyClaim => ({
  client: r.client,
  key: r.idem_key,
  requestId: r.request_id,
  frameTime: Number(r.frame_time),
  fingerprint: r.fingerprint,
  state: r.state,
  answer: r.answer_status == null ? null : { status: Number(r.answer_status), body: parse(r.answer_body ?? null) },
  holder: r.holder,
  claimedAt: Number(r.claimed_at),
  createdAt: r.created_at,
});

const numberOrNull = (v: unknown) => (v == null ? null : Number(v));

const toParkingRun = (r: Row): ParkingRun => ({
  runId: r.run_id,
  client: r.client,
  deployment: r.deployment ?? null,
  mode: r.mode,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  frames: Number(r.frames),
  steered: { model: Number(r.steered_model), laser: Number(r.steered_laser), stopped: Number(r.steered_stopped) },
  outcome: r.outcome,
  finalLaserMm: numberOrNull(r.final_laser_mm),
  finalTrueMm: numberOrNull(r.final_true_mm),
  modelVersion: numberOrNull(r.model_version),
  stopReason: r.stop_reason,
  simulated: Boolean(r.simulated),
  preset: r.preset ?? null,
  receivedAt: r.received_at,
});

/** Who a fault is open for: one rover in one deployment (a rover moved elsewhere is judged there afresh). */
const openKey = (f: { deployment: string; client: string }) => `${f.deployment}/${f.client}`;

function isBusy(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  // SQLITE_BUSY_SNAPSHOT: a transaction that read first cannot write after another connection wrote.
  return code?.startsWith('SQLITE_BUSY') || code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'ER_DUP_ENTRY';
}

/** How long a registration keeps retrying while other writers race it for the next version number. */
const REGISTRATION_RACE_DEADLINE_MS = 30_000;
/** How long a change of a deployment keeps retrying while other writers hold the database. */
const WRITE_RACE_DEADLINE_MS = 30_000;

/** Values in one `IN (...)` list: below SQLite's 999 bound variables. */
const IN_LIST_CHUNK = 500;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stores of this process on the same SQLite file (tests open two as two processes would) take turns for their
 * transactions here instead of retrying on each other's locks; other processes' locks are waited for by the
 * client (sqliteClient.ts) and, for a stale snapshot, by `transaction`.
 */
const sqliteTurns = new KeyedTurns();

type ServingChangeRow = Omit<StoredServingChange, 'id' | 'at' | 'comment'> & { comment?: string | null };

/** The registry on any SQL database knex speaks (SQLite embedded, MySQL in production). */
export class SqlRegistry implements RegistryStore {
  private constructor(
    private readonly db: Knex,
    /** The SQLite file, whose transactions take turns in this process; undefined on MySQL and in memory. */
    private readonly sqliteFile: string | undefined,
  ) {}

  static async open(url: string, options: MigrateOptions = {}): Promise<SqlRegistry> {
    const db = knexFromUrl(url);
    await migrateToLatest(db, 'registry_migrations', registryMigrations, options);
    const file = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : undefined;
    return new SqlRegistry(db, file && file !== ':memory:' ? path.resolve(file) : undefined);
  }

  /** A transaction of this store, after the other transactions of this process on the same SQLite file. */
  private inTurn<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    return this.sqliteFile ? sqliteTurns.run(this.sqliteFile, () => this.db.transaction(fn)) : this.db.transaction(fn);
  }

  private async insertNew(table: string, row: Row, what: string, db: Knex = this.db): Promise<void> {
    try {
      await db(table).insert(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreError('conflict', `${what} already exists`);
      throw err;
    }
  }

  /**
   * Runs `fn` in one transaction, again while another writer holds the database, until a deadline.
   * Inside, use only `trx`: on SQLite the pool has one connection.
   */
  private async transaction<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    const deadline = Date.now() + WRITE_RACE_DEADLINE_MS;
    for (let pauseMs = 10; ; pauseMs = Math.min(pauseMs * 2, 500)) {
      try {
        return await this.inTurn(fn);
      } catch (err) {
        if (!isBusy(err) || Date.now() + pauseMs > deadline) throw err;
        await pause(pauseMs);
      }
    }
  }

  private get isMysql(): boolean {
    return this.db.client.config.client === 'mysql2';
  }

  /** Deployment rows read to be changed: locked until the transaction ends on MySQL (SQLite serialises writers anyway). */
  private deploymentsForUpdate(trx: Knex.Transaction, where: Row): Knex.QueryBuilder {
    const q = trx('deployments').where(where);
    return this.db.client.config.client === 'mysql2' ? q.forUpdate() : q;
  }

  /**
   * The version a deployment serves every rover (outside a canary): its pinned number, its current version while
   * it rolls out, or on `latest` the model's newest (null when it has none).
   */
  private async servedVersion(
    trx: Knex.Transaction,
    d: Pick<Deployment, 'modelName' | 'modelVersion' | 'strategy' | 'currentVersion'>,
  ): Promise<number | null> {
    return fixedVersionOf(d) ?? this.newestVersion(trx, d.modelName);
  }

  /** A deployment may be pinned only to a version its model has. */
  private async assertPinnable(trx: Knex.Transaction, d: Pick<Deployment, 'modelName' | 'modelVersion'>): Promise<void> {
    if (d.modelVersion === 'latest') return;
    if (await trx('model_versions').where({ model_name: d.modelName, version: d.modelVersion }).first()) return;
    const versions = await trx('model_versions').where({ model_name: d.modelName }).orderBy('version').pluck('version');
    throw new UnknownVersionError(d.modelName, d.modelVersion, versions.map(Number));
  }

  private async newestVersion(trx: Knex.Transaction, modelName: string): Promise<number | null> {
    const row = await trx('model_versions').where({ model_name: modelName }).max('version as newest').first();
    return row?.newest == null ? null : Number(row.newest);
  }

  private async recordServingChange(trx: Knex.Transaction, change: ServingChangeRow): Promise<ServingChange> {
    const row = {
      deployment_id: change.deploymentId,
      at: now(),
      model_name: change.modelName,
      to_version: change.toVersion,
      from_model_name: change.fromModelName,
      from_version: change.fromVersion,
      reason: change.reason,
      changed_by: change.by,
      note: change.note == null ? null : json(change.note),
      comment: change.comment ?? null,
    };
    const [id] = await trx('serving_history').insert(row);
    return toServingChange({ ...row, id });
  }

  async createClient(client: Omit<RegisteredClient, 'createdAt'>): Promise<RegisteredClient> {
    const row = { id: client.id, name: client.name, token_hash: client.tokenHash, deployment_id: client.deploymentId, created_at: now() };
    await this.insertNew('clients', row, `client "${client.id}"`);
    return toClient(row);
  }

  async getClient(id: string) {
    const row = await this.db('clients').where({ id }).first();
    return row ? toClient(row) : undefined;
  }

  async listClients() {
    return (await this.db('clients').orderBy('id')).map(toClient);
  }

  async assignClient(clientId: string, deploymentId: string | null) {
    if (deploymentId !== null && !(await this.getDeployment(deploymentId))) {
      throw new StoreError('not_found', `deployment "${deploymentId}" does not exist`);
    }
    return (await this.db('clients').where({ id: clientId }).update({ deployment_id: deploymentId })) > 0;
  }

  async deleteClient(id: string) {
    return (await this.db('clients').where({ id }).delete()) > 0;
  }

  async createDeployment(d: NewDeployment, by = 'admin'): Promise<Deployment> {
    const row = {
      id: d.id,
      model_name: d.modelName,
      model_version: String(d.modelVersion),
      strategy: d.strategy,
      rollout_policy: d.rolloutPolicy ? json(d.rolloutPolicy) : null,
      created_at: now(),
    };
    return this.transaction(async (trx) => {
      await this.assertPinnable(trx, d);
      const currentVersion = rollsOut(d) ? await this.newestVersion(trx, d.modelName) : null;
      await this.insertNew('deployments', { ...row, current_version: currentVersion }, `deployment "${d.id}"`, trx);
      const deployment = toDeployment({ ...row, current_version: currentVersion });
      await this.recordServingChange(trx, {
        deploymentId: d.id,
        modelName: d.modelName,
        toVersion: await this.servedVersion(trx, deployment),
        fromModelName: null,
        fromVersion: null,
        reason: 'created',
        by,
        note: null,
      });
      return deployment;
    });
  }

  async getDeployment(id: string) {
    const row = await this.db('deployments').where({ id }).first();
    return row ? toDeployment(row) : undefined;
  }

  async listDeployments() {
    return (await this.db('deployments').orderBy('id')).map(toDeployment);
  }

  async updateDeployment(id: string, patch: DeploymentPatch, by = 'admin') {
    const changes: Row = {};
    if (patch.modelName !== undefined) changes.model_name = patch.modelName;
    if (patch.modelVersion !== undefined) changes.model_version = String(patch.modelVersion);
    if (patch.strategy !== undefined) changes.strategy = patch.strategy;
    if (patch.rolloutPolicy !== undefined) changes.rollout_policy = patch.rolloutPolicy === null ? null : json(patch.rolloutPolicy);
    return this.transaction(async (trx) => {
      const row = await this.deploymentsForUpdate(trx, { id }).first();
      if (!row) return undefined;
      if (Object.keys(changes).length === 0) return toDeployment(row);
      const before = toDeployment(row);
      const from = await this.servedVersion(trx, before);
      const patched = toDeployment({ ...row, ...changes });
      if (patched.modelName !== before.modelName || patched.modelVersion !== before.modelVersion) await this.assertPinnable(trx, patched);
      if (!rollsOut(patched)) Object.assign(changes, NO_ROLLOUT, { current_version: null });
      else if (!rollsOut(before) || before.modelName !== patched.modelName)
        Object.assign(changes, NO_ROLLOUT, { current_version: await this.newestVersion(trx, patched.modelName) });
      await trx('deployments').where({ id }).update(changes);
      const after = toDeployment({ ...row, ...changes });
      const to = await this.servedVersion(trx, after);
      if (before.modelName !== after.modelName || from !== to) {
        await this.recordServingChange(trx, {
          deploymentId: id,
          modelName: after.modelName,
          toVersion: to,
          fromModelName: before.modelName,
          fromVersion: from,
          reason: 'manual',
          by,
          note: null,
        });
      }
      return after;
    });
  }

  async deleteDeployment(id: string) {
    return this.transaction(async (trx) => {
      await trx('clients').where({ deployment_id: id }).update({ deployment_id: null });
      await trx('serving_history').where({ deployment_id: id }).delete();
      return (await trx('deployments').where({ id }).delete()) > 0;
    });
  }

  async servingHistory(deploymentId: string, options: { limit?: number } = {}) {
    const rows = await this.db('serving_history')
      .where({ deployment_id: deploymentId })
      .orderBy('id', 'desc')
      .limit(options.limit ?? 100);
    return rows.map(toServingChange);
  }

  async rollbackDeployment(id: string, by: string, reason?: string): Promise<{ deployment: Deployment; change: ServingChange }> {
    return this.transaction(async (trx) => {
      const row = await this.deploymentsForUpdate(trx, { id }).first();
      if (!row) throw new StoreError('not_found', `deployment "${id}" does not exist`);
      const current = toDeployment(row);
      const serving = await this.servedVersion(trx, current);
      const last = await trx('serving_history').where({ deployment_id: id }).whereIn('reason', FLEET_CHANGES).orderBy('id', 'desc').first();
      const previous = last && toServingChange(last);
      const servingNow = describeServed(current.modelName, serving);
      if (!previous || previous.fromVersion === null || previous.fromModelName === null)
        throw new StoreError(
          'conflict',
          `deployment "${id}" has no previous version to roll back to: it served nothing before ${servingNow}`,
        );
      const target = describeServed(previous.fromModelName, previous.fromVersion);
      if (previous.fromModelName !== current.modelName)
        throw new StoreError(
          'conflict',
          `deployment "${id}" cannot roll back: the version it served before, ${target}, is of another model than the one it serves now ` +
            `(${servingNow}); PATCH its modelName and modelVersion to go back`,
        );
      if (!(await trx('model_versions').where({ model_name: current.modelName, version: previous.fromVersion }).first()))
        throw new StoreError('conflict', `deployment "${id}" cannot roll back: the version it served before, ${target}, no longer exists`);
      await trx('deployments')
        .where({ id })
        .update({ model_version: String(previous.fromVersion), current_version: null, ...NO_ROLLOUT });
      const change = await this.recordServingChange(trx, {
        deploymentId: id,
        modelName: current.modelName,
        toVersion: previous.fromVersion,
        fromModelName: current.modelName,
        fromVersion: serving,
        reason: 'rollback',
        by,
        note: { undoes: previous.id, pinnedFrom: current.modelVersion },
        comment: reason ?? null,
      });
      return { deployment: { ...current, modelVersion: previous.fromVersion, currentVersion: null, rollout: null }, change };
    });
  }

  async setRolloutStage(deploymentId: string, step: RolloutStep): Promise<{ deployment: Deployment; change: ServingChange | null }> {
    return this.transaction(async (trx) => {
      const row = await this.deploymentsForUpdate(trx, { id: deploymentId }).first();
      if (!row) throw new StoreError('not_found', `deployment "${deploymentId}" does not exist`);
      const deployment = toDeployment(row);
      const { currentVersion, rollout } = deployment;
      if (!rollsOut(deployment) || currentVersion === null)
        throw new StoreError(
          'conflict',
          `deployment "${deploymentId}" does not roll out new versions: it needs modelVersion "latest", a shadow or canary strategy and a current version`,
        );
      if (step.candidateVersion === currentVersion)
        throw new StoreError('conflict', `version ${step.candidateVersion} is already the current version of deployment "${deploymentId}"`);
      if (!(await trx('model_versions').where({ model_name: deployment.modelName, version: step.candidateVersion }).first()))
        throw new StoreError('conflict', `model "${deployment.modelName}" has no version ${step.candidateVersion}`);
      const sameStage = rollout?.candidateVersion === step.candidateVersion && rollout.stage === step.stage;
      const reassigned = sameStage && step.stage === 'bandit' && !sameMembers(rollout.canaryClients, step.canaryClients);
      if (sameStage && !reassigned) return { deployment, change: null };
      const at = now();
      const sameCandidate = rollout?.candidateVersion === step.candidateVersion;
      const changes: Row = {
        candidate_version: step.candidateVersion,
        rollout_stage: step.stage,
        canary_clients: json(step.canaryClients),
        rollout_workflow_id: step.workflowId,
        rollout_started_at: sameCandidate ? rollout.startedAt : at,
        stage_started_at: sameStage ? rollout.stageStartedAt : at,
      };
      await trx('deployments').where({ id: deploymentId }).update(changes);
      const change = await this.recordServingChange(trx, {
        deploymentId,
        modelName: deployment.modelName,
        toVersion: step.candidateVersion,
        fromModelName: deployment.modelName,
        fromVersion: currentVersion,
        reason: `rollout-${step.stage}`,
        by: step.workflowId,
        note: rollout && !sameCandidate ? { replaces: rollout.candidateVersion, ...(step.note as object) } : step.note,
      });
      return { deployment: toDeployment({ ...row, ...changes }), change };
    });
  }

  async endRollout(deploymentId: string, end: RolloutEnd): Promise<{ deployment: Deployment | undefined; change: ServingChange | null }> {
    return this.transaction(async (trx) => {
      const row = await this.deploymentsForUpdate(trx, { id: deploymentId }).first();
      if (!row) return { deployment: undefined, change: null };
      const deployment = toDeployment(row);
      if (deployment.rollout?.candidateVersion !== end.candidateVersion) return { deployment, change: null };
      const promoted = end.outcome === 'promoted';
      const changes: Row = { ...NO_ROLLOUT, ...(promoted ? { current_version: end.candidateVersion } : {}) };
      await trx('deployments').where({ id: deploymentId }).update(changes);
      const change = await this.recordServingChange(trx, {
        deploymentId,
        modelName: deployment.modelName,
        toVersion: promoted ? end.candidateVersion : deployment.currentVersion,
        fromModelName: deployment.modelName,
        fromVersion: promoted ? deployment.currentVersion : end.candidateVersion,
        reason: promoted ? 'rollout-promoted' : 'rollout-rolled-back',
        by: end.workflowId,
        note: end.note,
      });
      return { deployment: toDeployment({ ...row, ...changes }), change };
    });
  }

  async ensureModel(name: string, description = ''): Promise<Model> {
    const existing = await this.getModel(name);
    if (existing) return existing;
    try {
      await this.db('models').insert({ name, description, created_at: now() });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    return (await this.getModel(name))!;
  }

  async getModel(name: string) {
    const row = await this.db('models').where({ name }).first();
    return row ? toModel(row) : undefined;
  }

  async listModels() {
    return (await this.db('models').orderBy('name')).map(toModel);
  }

  async setTrainingConfig(name: string, config: TrainingConfig): Promise<Model> {
    await this.ensureModel(name);
    await this.db('models')
      .where({ name })
      .update({ training_config: json(config) });
    return (await this.getModel(name))!;
  }

  async setMonitorConfig(name: string, config: MonitorConfig | null): Promise<Model> {
    await this.ensureModel(name);
    await this.db('models')
      .where({ name })
      .update({ monitor_config: config === null ? null : json(config) });
    return (await this.getModel(name))!;
  }

  async registerModelVersion(v: NewModelVersion): Promise<ModelVersion> {
    await this.ensureModel(v.modelName);
    const row: Row = {
      model_name: v.modelName,
      artifact_key: v.artifactKey,
      artifact_sha256: v.artifactSha256,
      architecture: v.architecture,
      metrics: json(v.metrics),
      params: json(v.params),
      trial_id: v.trialId,
      workflow_id: v.workflowId,
      run_id: v.runId,
      dataset_key: v.datasetKey,
      dataset_sha256: v.datasetSha256,
      source_deployments: json(v.sourceDeployments),
      record_count: v.recordCount,
      comparison: v.comparison ? json(v.comparison) : null,
      created_at: now(),
    };
    const columns = Object.keys(row);
    const deadline = Date.now() + REGISTRATION_RACE_DEADLINE_MS;
    for (let pauseMs = 10; ; pauseMs = Math.min(pauseMs * 2, 500)) {
      const existing = await this.db('model_versions').where({ model_name: v.modelName, run_id: v.runId }).first();
      if (existing) return toModelVersion(existing);
      try {
        return await this.inTurn(async (trx) => {
          // One statement takes the next number, so concurrent writers on any connection never share a read-then-write gap.
          await trx.raw(
            `insert into ?? (${columns.map(() => '??').join(', ')}, ??) select ${columns.map(() => '?').join(', ')}, coalesce(max(??), 0) + 1 from ?? where ?? = ?`,
            ['model_versions', ...columns, 'version', ...Object.values(row), 'version', 'model_versions', 'model_name', v.modelName],
          );
          const registered = toModelVersion(await trx('model_versions').where({ model_name: v.modelName, run_id: v.runId }).first());
          // Numbers are consecutive per model: the one before is what `latest` served until now.
          const before = registered.version > 1 ? registered.version - 1 : null;
          for (const following of await this.deploymentsForUpdate(trx, { model_name: v.modelName, model_version: 'latest' })) {
            if (following.strategy !== 'direct') {
              // A deployment that rolls out takes its first version at once; later ones only through a Rollout.
              if (following.current_version != null) continue;
              await trx('deployments').where({ id: following.id }).update({ current_version: registered.version });
            }
            await this.recordServingChange(trx, {
              deploymentId: following.id,
              modelName: v.modelName,
              toVersion: registered.version,
              fromModelName: v.modelName,
              fromVersion: following.strategy === 'direct' ? before : null,
              reason: 'registration',
              by: v.workflowId,
              note: { runId: v.runId, trialId: v.trialId },
            });
          }
          return registered;
        });
      } catch (err) {
        // Two registrations raced for the same number (or the same run): read again.
        if (!(isUniqueViolation(err) || isBusy(err)) || Date.now() + pauseMs > deadline) throw err;
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    }
  }

  async getModelVersion(modelName: string, version: number) {
    const row = await this.db('model_versions').where({ model_name: modelName, version }).first();
    return row ? toModelVersion(row) : undefined;
  }

  async attachReferenceProfile(modelName: string, version: number, profile: { key: string; sha256: string }): Promise<ModelVersion> {
    const updated = await this.db('model_versions')
      .where({ model_name: modelName, version })
      .update({ reference_profile_key: profile.key, reference_profile_sha256: profile.sha256 });
    if (updated === 0) throw new StoreError('not_found', `model "${modelName}" has no version ${version}`);
    return (await this.getModelVersion(modelName, version))!;
  }

  async getLatestModelVersion(modelName: string) {
    const row = await this.db('model_versions').where({ model_name: modelName }).orderBy('version', 'desc').first();
    return row ? toModelVersion(row) : undefined;
  }

  async listModelVersions(modelName: string) {
    return (await this.db('model_versions').where({ model_name: modelName }).orderBy('version')).map(toModelVersion);
  }

  async saveTrial(t: Omit<Trial, 'createdAt'>): Promise<Trial> {
    const row = {
      id: t.id,
      workflow_id: t.workflowId,
      run_id: t.runId,
      model_name: t.modelName,
      params: json(t.params),
      metrics: json(t.metrics),
      history: json(t.history),
      artifact_key: t.artifactKey,
      artifact_sha256: t.artifactSha256,
      dataset_key: t.datasetKey,
      created_at: now(),
    };
    await this.db('trials').insert(row).onConflict('id').merge();
    return toTrial(row);
  }

  async getTrial(id: string) {
    const row = await this.db('trials').where({ id }).first();
    return row ? toTrial(row) : undefined;
  }

  async listTrials(filter: { modelName?: string; workflowId?: string; runId?: string }) {
    const q = this.db('trials');
    if (filter.modelName) q.where({ model_name: filter.modelName });
    if (filter.workflowId) q.where({ workflow_id: filter.workflowId });
    if (filter.runId) q.where({ run_id: filter.runId });
    return (await q.orderBy('created_at')).map(toTrial);
  }

  async recordRetrainRequest(r: NewRetrainRequest): Promise<{ request: RetrainRequest; duplicateOf?: RetrainRequest }> {
    const row = { model_name: r.modelName, trigger: r.trigger, payload: json(r.payload ?? null), created_at: now() };
    if (r.dedupeKey !== null) {
      try {
        return { request: await this.insertRetrainRequest({ ...row, outcome: 'pending', dedupe_key: r.dedupeKey }) };
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
      const original = await this.db('retrain_requests').where({ model_name: r.modelName, dedupe_key: r.dedupeKey }).first();
      if (original) {
        const duplicate = await this.insertRetrainRequest({ ...row, outcome: 'duplicate', duplicate_of: original.id });
        return { request: duplicate, duplicateOf: toRetrainRequest(original) };
      }
    }
    return { request: await this.insertRetrainRequest({ ...row, outcome: 'pending' }) };
  }

  private async insertRetrainRequest(row: Row): Promise<RetrainRequest> {
    const [id] = await this.db('retrain_requests').insert(row);
    return toRetrainRequest({ ...row, id });
  }

  async recordRetrainRequests(
    requests: NewRetrainRequest[],
    options: { claim?: boolean } = {},
  ): Promise<{ request: RetrainRequest; duplicateOf?: RetrainRequest }[]> {
    if (requests.length === 0) return [];
    return this.transaction(async (trx) => {
      const at = now();
      const claimedAt = options.claim ? Date.now() : null;
      // The requests already holding these keys; on MySQL the read locks the keys (and the gaps of absent ones)
      // until commit, so a concurrent batch with the same keys waits or deadlocks and is retried, never both win.
      const holders = new Map<string, Row>();
      const keyed = requests.filter((r) => r.dedupeKey !== null);
      for (const modelName of new Set(keyed.map((r) => r.modelName))) {
        const keys = [...new Set(keyed.filter((r) => r.modelName === modelName).map((r) => r.dedupeKey!))];
        for (let i = 0; i < keys.length; i += IN_LIST_CHUNK) {
          const q = trx('retrain_requests')
            .where({ model_name: modelName })
            .whereIn('dedupe_key', keys.slice(i, i + IN_LIST_CHUNK));
          for (const row of await (this.isMysql ? q.forShare() : q)) holders.set(`${modelName}\n${row.dedupe_key}`, row);
        }
      }
      const recorded: { request: RetrainRequest; duplicateOf?: RetrainRequest }[] = [];
      for (const r of requests) {
        const row: Row = { model_name: r.modelName, trigger: r.trigger, payload: json(r.payload ?? null), created_at: at };
        const key = `${r.modelName}\n${r.dedupeKey}`;
        const holder = r.dedupeKey === null ? undefined : holders.get(key);
        if (holder) {
          const [id] = await trx('retrain_requests').insert({ ...row, outcome: 'duplicate', duplicate_of: holder.id });
          recorded.push({
            request: toRetrainRequest({ ...row, outcome: 'duplicate', duplicate_of: holder.id, id }),
            duplicateOf: toRetrainRequest(holder),
          });
          continue;
        }
        const pending = { ...row, outcome: 'pending', dedupe_key: r.dedupeKey, claimed_at: claimedAt };
        const [id] = await trx('retrain_requests').insert(pending);
        if (r.dedupeKey !== null) holders.set(key, { ...pending, id });
        recorded.push({ request: toRetrainRequest({ ...pending, id }) });
      }
      return recorded;
    });
  }

  async settleRetrainRequests(
    ids: number[],
    result: Pick<RetrainRequest, 'outcome' | 'workflowId' | 'runId' | 'coverage'>,
  ): Promise<number> {
    if (ids.length === 0) return 0;
    return this.transaction(async (trx) => {
      let settled = 0;
      for (let i = 0; i < ids.length; i += IN_LIST_CHUNK) {
        settled += await trx('retrain_requests')
          .whereIn('id', ids.slice(i, i + IN_LIST_CHUNK))
          .where({ outcome: 'pending' })
          .update({
            outcome: result.outcome,
            workflow_id: result.workflowId,
            run_id: result.runId,
            coverage: result.coverage,
            claimed_at: null,
          });
      }
      return settled;
    });
  }

  async claimRetrainRequest(id: number, leaseMs: number): Promise<boolean> {
    const at = Date.now();
    const claimed = await this.db('retrain_requests')
      .where({ id, outcome: 'pending' })
      .andWhere((q) => q.whereNull('claimed_at').orWhere('claimed_at', '<', at - leaseMs))
      .update({ claimed_at: at });
    return claimed > 0;
  }

  async settleRetrainRequest(
    id: number,
    result: Pick<RetrainRequest, 'outcome' | 'workflowId' | 'runId' | 'coverage'>,
  ): Promise<RetrainRequest> {
    await this.db('retrain_requests').where({ id, outcome: 'pending' }).update({
      outcome: result.outcome,
      workflow_id: result.workflowId,
      run_id: result.runId,
      coverage: result.coverage,
      claimed_at: null,
    });
    const settled = await this.getRetrainRequest(id);
    if (!settled) throw new StoreError('not_found', `retrain request ${id} does not exist`);
    return settled;
  }

  async getRetrainRequest(id: number) {
    const row = await this.db('retrain_requests').where({ id }).first();
    return row ? toRetrainRequest(row) : undefined;
  }

  async listRetrainRequests(filter: Parameters<RegistryStore['listRetrainRequests']>[0] = {}) {
    const q = this.db('retrain_requests');
    if (filter.modelName) q.where({ model_name: filter.modelName });
    if (filter.outcome) q.where({ outcome: filter.outcome });
    if (filter.trigger) q.where({ trigger: filter.trigger });
    if (filter.since) q.where('created_at', '>=', filter.since);
    if (filter.limit) q.limit(filter.limit);
    return (await q.orderBy('id')).map(toRetrainRequest);
  }

  async createViewer(viewer: Pick<Viewer, 'name' | 'tokenHash' | 'createdBy'>): Promise<Viewer> {
    const row: Row = { name: viewer.name, token_hash: viewer.tokenHash, created_at: now(), created_by: viewer.createdBy };
    try {
      const [id] = await this.db('viewers').insert(row);
      return toViewer({ ...row, id });
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreError('conflict', `a viewer named "${viewer.name}" already exists`);
      throw err;
    }
  }

  async findViewerByTokenHash(tokenHash: string) {
    const row = await this.db('viewers').where({ token_hash: tokenHash }).first();
    return row ? toViewer(row) : undefined;
  }

  async listViewers() {
    return (await this.db('viewers').orderBy('id')).map(toViewer);
  }

  async deleteViewer(id: number) {
    return (await this.db('viewers').where({ id }).delete()) > 0;
  }

  async addAnnotation(a: Omit<Annotation, 'id'>): Promise<Annotation> {
    const row: Row = { time: a.time, text: a.text, tags: json(a.tags), deployment_id: a.deployment, created_by: a.by };
    const [id] = await this.db('annotations').insert(row);
    return toAnnotation({ ...row, id });
  }

  async listAnnotations(filter: Parameters<RegistryStore['listAnnotations']>[0] = {}) {
    const q = this.db('annotations');
    if (filter.deployment) q.where((w) => w.where({ deployment_id: filter.deployment }).orWhereNull('deployment_id'));
    if (filter.since) q.where('time', '>=', filter.since);
    if (filter.until) q.where('time', '<=', filter.until);
    if (filter.limit) q.limit(filter.limit);
    return (
      await q.orderBy([
        { column: 'time', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
    ).map(toAnnotation);
  }

  /** Rows read to be changed: locked until the transaction ends on MySQL (SQLite serialises writers anyway). */
  private forUpdate(q: Knex.QueryBuilder): Knex.QueryBuilder {
    return this.isMysql ? q.forUpdate() : q;
  }

  async flagSensorFault(fault: NewSensorFault): Promise<{ fault: SensorFault; created: boolean }> {
    return this.transaction(async (trx) => {
      const at = now();
      const change = { kinds: json(fault.kinds), evidence: json(fault.evidence), summary: fault.summary.slice(0, 1024), updated_at: at };
      const open = await this.forUpdate(trx('sensor_faults').where({ open_key: openKey(fault) })).first();
      if (open) {
        await trx('sensor_faults').where({ id: open.id }).update(change);
        return { fault: toSensorFault({ ...open, ...change }), created: false };
      }
      const row: Row = {
        ...change,
        client: fault.client,
        deployment: fault.deployment,
        open_key: openKey(fault),
        since: fault.since,
        flagged_at: at,
      };
      const [id] = await trx('sensor_faults').insert(row);
      return { fault: toSensorFault({ ...row, id }), created: true };
    });
  }

  async listSensorFaults(filter: Parameters<RegistryStore['listSensorFaults']>[0] = {}): Promise<SensorFault[]> {
    const q = this.db('sensor_faults');
    if (filter.client) q.where({ client: filter.client });
    if (filter.deployment) q.where({ deployment: filter.deployment });
    if (filter.open === true) q.whereNull('cleared_at');
    if (filter.open === false) q.whereNotNull('cleared_at');
    if (filter.limit) q.limit(filter.limit);
    return (
      await q.orderBy([
        { column: 'flagged_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
    ).map(toSensorFault);
  }

  async getSensorFault(id: number): Promise<SensorFault | undefined> {
    const row = await this.db('sensor_faults').where({ id }).first();
    return row ? toSensorFault(row) : undefined;
  }

  async clearSensorFault(id: number, clearing: { by: string; reason: string }): Promise<SensorFault | undefined> {
    return this.transaction(async (trx) => {
      const row = await this.forUpdate(trx('sensor_faults').where({ id })).first();
      if (!row || row.cleared_at != null) return row ? toSensorFault(row) : undefined;
      const change = {
        open_key: null,
        cleared_at: now(),
        cleared_by: clearing.by.slice(0, 256),
        clear_reason: clearing.reason.slice(0, 1024),
      };
      await trx('sensor_faults').where({ id }).update(change);
      return toSensorFault({ ...row, ...change });
    });
  }

  async claimIdempotencyKey(
    claim: NewIdempotencyClaim,
    options: { staleBefore: number; expiredBefore: string },
  ): Promise<{ claim: IdempotencyClaim; outcome: IdempotencyClaimOutcome }> {
    const at = Date.now();
    const row: Row = {
      client: claim.client,
      idem_key: claim.key,
      request_id: claim.requestId,
      frame_time: claim.frameTime,
      fingerprint: claim.fingerprint,
      state: 'pending',
      answer_status: null,
      answer_body: null,
      holder: claim.holder,
      claimed_at: at,
      created_at: new Date(at).toISOString(),
    };
    const where = { client: claim.client, idem_key: claim.key };
    // The primary key decides concurrent claims; each step below changes a row only if it is still as it was read.
    for (;;) {
      try {
        await this.db('idempotency_keys').insert(row);
        return { claim: toIdempotencyClaim(row), outcome: 'claimed' };
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
      const held = await this.db('idempotency_keys').where(where).first();
      if (!held) continue;
      if (held.created_at < options.expiredBefore) {
        await this.db('idempotency_keys')
          .where({ ...where, holder: held.holder, created_at: held.created_at })
          .delete();
        continue;
      }
      const stale = held.state === 'pending' && held.fingerprint === claim.fingerprint && Number(held.claimed_at) < options.staleBefore;
      if (!stale) return { claim: toIdempotencyClaim(held), outcome: 'held' };
      const taken = await this.db('idempotency_keys')
        .where({ ...where, state: 'pending', holder: held.holder })
        .update({ holder: claim.holder, claimed_at: at });
      if (taken > 0) return { claim: toIdempotencyClaim({ ...held, holder: claim.holder, claimed_at: at }), outcome: 'taken-over' };
    }
  }

  async settleIdempotencyKey(client: string, key: string, holder: string, answer: { status: number; body: unknown }) {
    const settled = await this.db('idempotency_keys')
      .where({ client, idem_key: key, holder, state: 'pending' })
      .update({ state: 'done', answer_status: answer.status, answer_body: json(answer.body) });
    return settled > 0;
  }

  async releaseIdempotencyKey(client: string, key: string, holder: string) {
    return (await this.db('idempotency_keys').where({ client, idem_key: key, holder, state: 'pending' }).delete()) > 0;
  }

  async pruneIdempotencyKeys(createdBefore: string) {
    return this.db('idempotency_keys').where('created_at', '<', createdBefore).delete();
  }

  async recordParkingRun(run: Omit<ParkingRun, 'receivedAt'>): Promise<{ run: ParkingRun; created: boolean }> {
    const row: Row = {
      client: run.client,
      run_id: run.runId,
      deployment: run.deployment,
      mode: run.mode,
      started_at: run.startedAt,
      ended_at: run.endedAt,
      frames: run.frames,
      steered_model: run.steered.model,
      steered_laser: run.steered.laser,
      steered_stopped: run.steered.stopped,
      outcome: run.outcome,
      final_laser_mm: run.finalLaserMm,
      final_true_mm: run.finalTrueMm,
      model_version: run.modelVersion,
      stop_reason: run.stopReason,
      simulated: run.simulated,
      preset: run.preset,
      received_at: now(),
    };
    try {
      await this.db('parking_runs').insert(row);
      return { run: toParkingRun(row), created: true };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    const stored = await this.db('parking_runs').where({ client: run.client, run_id: run.runId }).first();
    if (!stored) throw new StoreError('unavailable', `parking run "${run.runId}" of client "${run.client}" vanished while being stored`);
    return { run: toParkingRun(stored), created: false };
  }

  async listParkingRuns(filter: Parameters<RegistryStore['listParkingRuns']>[0] = {}): Promise<ParkingRun[]> {
    const q = this.db('parking_runs');
    if (filter.deployment) q.where({ deployment: filter.deployment });
    if (filter.client) q.where({ client: filter.client });
    if (filter.since) q.where('received_at', '>=', filter.since);
    if (filter.limit) q.limit(filter.limit);
    return (
      await q.orderBy([
        { column: 'received_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
    ).map(toParkingRun);
  }

  async parkingSuccess(deployment: string, since?: string): Promise<ParkingSuccess[]> {
    const q = this.db('parking_runs')
      .where({ deployment })
      .select('mode', 'model_version', 'outcome', 'stop_reason')
      .count({ runs: '*' })
      .sum({ final_sum: this.db.raw('coalesce(final_true_mm, final_laser_mm)') })
      .count({ finals: this.db.raw('coalesce(final_true_mm, final_laser_mm)') })
      .groupBy('mode', 'model_version', 'outcome', 'stop_reason');
    if (since) q.where('received_at', '>=', since);
    const groups = new Map<string, ParkingSuccess & { finalSum: number; finals: number }>();
    for (const r of (await q) as Row[]) {
      const modelVersion = numberOrNull(r.model_version);
      const id = `${r.mode}/${modelVersion}`;
      const group = groups.get(id) ?? {
        mode: r.mode,
        modelVersion,
        runs: 0,
        parked: 0,
        hit: 0,
        early: 0,
        successRate: 0,
        parkedByModel: 0,
        laserStops: 0,
        meanFinalMm: null,
        finalSum: 0,
        finals: 0,
      };
      const runs = Number(r.runs);
      group.runs += runs;
      group[r.outcome as 'parked' | 'hit' | 'early'] += runs;
      if (r.mode === 'model' && r.stop_reason === 'model' && r.outcome === 'parked') group.parkedByModel += runs;
      if (r.mode === 'model' && r.stop_reason === 'laser') group.laserStops += runs;
      group.finalSum += Number(r.final_sum ?? 0);
      group.finals += Number(r.finals);
      groups.set(id, group);
    }
    return [...groups.values()]
      .map(({ finalSum, finals, ...g }) => ({ ...g, successRate: g.parked / g.runs, meanFinalMm: finals > 0 ? finalSum / finals : null }))
      .sort((a, b) => a.mode.localeCompare(b.mode) || (a.modelVersion ?? -1) - (b.modelVersion ?? -1));
  }

  async close() {
    await this.db.destroy();
  }
}
