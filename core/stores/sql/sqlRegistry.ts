import type { MonitorConfig } from '../../drift/monitorConfig.js';
import type { Knex } from 'knex';
import {
  StoreError,
  type RegisteredClient,
  type Deployment,
  type Model,
  type ModelVersion,
  type NewModelVersion,
  type RegistryStore,
  type NewRetrainRequest,
  type RetrainRequest,
  type Trial,
  type TrainingConfig,
} from '../registry.js';
import { knexFromUrl } from './knexFromUrl.js';
import { migrateToLatest, type MigrateOptions } from './migrations.js';
import { registryMigrations } from './registryMigrations.js';

const now = () => new Date().toISOString();
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
  createdAt: r.created_at,
});

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

function isBusy(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === 'SQLITE_BUSY' || code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'ER_DUP_ENTRY';
}

/** How long a registration keeps retrying while other writers race it for the next version number. */
const REGISTRATION_RACE_DEADLINE_MS = 30_000;

/** The registry on any SQL database knex speaks (SQLite embedded, MySQL in production). */
export class SqlRegistry implements RegistryStore {
  private constructor(private readonly db: Knex) {}

  static async open(url: string, options: MigrateOptions = {}): Promise<SqlRegistry> {
    const db = knexFromUrl(url);
    await migrateToLatest(db, 'registry_migrations', registryMigrations, options);
    return new SqlRegistry(db);
  }

  private async insertNew(table: string, row: Row, what: string): Promise<void> {
    try {
      await this.db(table).insert(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreError('conflict', `${what} already exists`);
      throw err;
    }
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

  async createDeployment(d: Omit<Deployment, 'createdAt'>): Promise<Deployment> {
    const row = { id: d.id, model_name: d.modelName, model_version: String(d.modelVersion), strategy: d.strategy, created_at: now() };
    await this.insertNew('deployments', row, `deployment "${d.id}"`);
    return toDeployment(row);
  }

  async getDeployment(id: string) {
    const row = await this.db('deployments').where({ id }).first();
    return row ? toDeployment(row) : undefined;
  }

  async listDeployments() {
    return (await this.db('deployments').orderBy('id')).map(toDeployment);
  }

  async updateDeployment(id: string, patch: Partial<Pick<Deployment, 'modelName' | 'modelVersion' | 'strategy'>>) {
    const changes: Row = {};
    if (patch.modelName !== undefined) changes.model_name = patch.modelName;
    if (patch.modelVersion !== undefined) changes.model_version = String(patch.modelVersion);
    if (patch.strategy !== undefined) changes.strategy = patch.strategy;
    if (Object.keys(changes).length > 0) await this.db('deployments').where({ id }).update(changes);
    return this.getDeployment(id);
  }

  async deleteDeployment(id: string) {
    return this.db.transaction(async (trx) => {
      await trx('clients').where({ deployment_id: id }).update({ deployment_id: null });
      return (await trx('deployments').where({ id }).delete()) > 0;
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

  async setMonitorConfig(name: string, config: MonitorConfig): Promise<Model> {
    await this.ensureModel(name);
    await this.db('models')
      .where({ name })
      .update({ monitor_config: json(config) });
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
        // One statement takes the next number, so concurrent writers on any connection never share a read-then-write gap.
        await this.db.raw(
          `insert into ?? (${columns.map(() => '??').join(', ')}, ??) select ${columns.map(() => '?').join(', ')}, coalesce(max(??), 0) + 1 from ?? where ?? = ?`,
          ['model_versions', ...columns, 'version', ...Object.values(row), 'version', 'model_versions', 'model_name', v.modelName],
        );
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

  async listRetrainRequests(filter: { modelName?: string; outcome?: RetrainRequest['outcome']; limit?: number } = {}) {
    const q = this.db('retrain_requests');
    if (filter.modelName) q.where({ model_name: filter.modelName });
    if (filter.outcome) q.where({ outcome: filter.outcome });
    if (filter.limit) q.limit(filter.limit);
    return (await q.orderBy('id')).map(toRetrainRequest);
  }

  async close() {
    await this.db.destroy();
  }
}
