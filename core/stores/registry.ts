/** The registry contract: clients, deployments, models, versions, trials, retrain requests. */
import type { MonitorConfig } from '../drift/monitorConfig.js';
import type { TrainAndRegisterRequest, TriggerKind } from '../../workflows/trainAndRegister/contract.js';

/** A rover registered to send frames: its token is kept only as a hash. */
export interface RegisteredClient {
  id: string;
  name: string;
  tokenHash: string;
  deploymentId: string | null;
  createdAt: string;
}

export type DeploymentStrategy = 'direct';

export interface Deployment {
  id: string;
  modelName: string;
  /** A version number, or 'latest' to follow every newly registered version. */
  modelVersion: number | 'latest';
  strategy: DeploymentStrategy;
  createdAt: string;
}

export interface Model {
  name: string;
  description: string;
  /** What a retrain of this model trains on and sweeps; alerts and manual requests start from it. */
  trainingConfig: TrainingConfig | null;
  /** How the drift monitor watches the model's deployments, as last set; null: the defaults (monitoring on). */
  monitorConfig: MonitorConfig | null;
  createdAt: string;
}

export type TrainingConfig = Omit<TrainAndRegisterRequest, 'modelName' | 'trigger' | 'reuseDataset'>;

export type Metrics = Record<string, number>;
export type Params = Record<string, number | string>;

export interface ModelVersion {
  modelName: string;
  version: number;
  artifactKey: string;
  artifactSha256: string;
  architecture: string;
  metrics: Metrics;
  params: Params;
  trialId: string;
  workflowId: string;
  runId: string;
  datasetKey: string;
  datasetSha256: string;
  sourceDeployments: string[];
  recordCount: number;
  /** Metrics of the version it replaced, measured on this version's test set. */
  comparison: { previousVersion: number; metrics: Metrics } | null;
  /** What the version learned from (core/drift/referenceProfile.ts), once stored: the drift monitor's reference. */
  referenceProfile: { key: string; sha256: string } | null;
  createdAt: string;
}

export interface Trial {
  id: string;
  workflowId: string;
  runId: string;
  modelName: string;
  params: Params;
  metrics: Metrics;
  history: Record<string, number[]>;
  artifactKey: string;
  artifactSha256: string;
  datasetKey: string;
  createdAt: string;
}

/** `pending`: recorded, not yet acted on (Temporal unreachable so far; the API retries it). */
export type RetrainOutcome = 'pending' | 'started' | 'joined' | 'duplicate' | 'ignored';
/** How a joined ask is covered: by the running run's dataset, or by the follow-up run it continues as new into. */
export type RetrainCoverage = 'this-run' | 'follow-up-run';

export interface RetrainRequest {
  id: number;
  modelName: string;
  trigger: TriggerKind;
  payload: unknown;
  workflowId: string | null;
  runId: string | null;
  outcome: RetrainOutcome;
  coverage: RetrainCoverage | null;
  /** Identifies one firing of one alert (fingerprint and start): unique per model, so a repeat is recognised. */
  dedupeKey: string | null;
  /** For a duplicate: the request that holds the dedupe key. */
  duplicateOf: number | null;
  createdAt: string;
}

export type NewModelVersion = Omit<ModelVersion, 'version' | 'createdAt' | 'referenceProfile'>;
export type NewRetrainRequest = Pick<RetrainRequest, 'modelName' | 'trigger' | 'payload' | 'dedupeKey'>;

export interface RegistryStore {
  createClient(client: Omit<RegisteredClient, 'createdAt'>): Promise<RegisteredClient>;
  getClient(id: string): Promise<RegisteredClient | undefined>;
  listClients(): Promise<RegisteredClient[]>;
  /** Returns false when no such client exists. */
  assignClient(clientId: string, deploymentId: string | null): Promise<boolean>;
  deleteClient(id: string): Promise<boolean>;

  createDeployment(deployment: Omit<Deployment, 'createdAt'>): Promise<Deployment>;
  getDeployment(id: string): Promise<Deployment | undefined>;
  listDeployments(): Promise<Deployment[]>;
  updateDeployment(
    id: string,
    patch: Partial<Pick<Deployment, 'modelName' | 'modelVersion' | 'strategy'>>,
  ): Promise<Deployment | undefined>;
  /** Unassigns its clients; returns false when no such deployment exists. */
  deleteDeployment(id: string): Promise<boolean>;

  ensureModel(name: string, description?: string): Promise<Model>;
  getModel(name: string): Promise<Model | undefined>;
  listModels(): Promise<Model[]>;
  setTrainingConfig(name: string, config: TrainingConfig): Promise<Model>;
  setMonitorConfig(name: string, config: MonitorConfig): Promise<Model>;

  /**
   * Registers the next version of a model. Idempotent per workflow run: a retried
   * registration of the same run returns the version it already created.
   */
  registerModelVersion(version: NewModelVersion): Promise<ModelVersion>;
  getModelVersion(modelName: string, version: number): Promise<ModelVersion | undefined>;
  /** Links a version to its reference profile (idempotent: a retried attach writes the same). */
  attachReferenceProfile(modelName: string, version: number, profile: { key: string; sha256: string }): Promise<ModelVersion>;
  getLatestModelVersion(modelName: string): Promise<ModelVersion | undefined>;
  listModelVersions(modelName: string): Promise<ModelVersion[]>;

  /** Inserts or replaces a trial by id (retried trials overwrite their row). */
  saveTrial(trial: Omit<Trial, 'createdAt'>): Promise<Trial>;
  getTrial(id: string): Promise<Trial | undefined>;
  listTrials(filter: { modelName?: string; workflowId?: string; runId?: string }): Promise<Trial[]>;

  /**
   * Records an ask before anything acts on it, as `pending`. An ask whose dedupe key the model
   * already has is recorded as a `duplicate` of that request instead (decided by a unique index,
   * so concurrent repeats cannot both win).
   */
  recordRetrainRequest(request: NewRetrainRequest): Promise<{ request: RetrainRequest; duplicateOf?: RetrainRequest }>;
  /** Takes a pending request for `leaseMs`; false when it is settled or another process holds it. */
  claimRetrainRequest(id: number, leaseMs: number): Promise<boolean>;
  /** Sets the outcome of a pending request (once). */
  settleRetrainRequest(id: number, result: Pick<RetrainRequest, 'outcome' | 'workflowId' | 'runId' | 'coverage'>): Promise<RetrainRequest>;
  getRetrainRequest(id: number): Promise<RetrainRequest | undefined>;
  listRetrainRequests(filter?: { modelName?: string; outcome?: RetrainOutcome; limit?: number }): Promise<RetrainRequest[]>;

  close(): Promise<void>;
}

/** A store error callers can map to a status: conflicts and missing references. */
export class StoreError extends Error {
  constructor(
    readonly code: 'conflict' | 'not_found' | 'unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}
