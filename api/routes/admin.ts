import { Router } from 'express';
import { z } from 'zod';
import { deploymentStrategySchema, effectiveRolloutPolicy, rolloutPolicySchema } from '../../core/rollout/rolloutPolicy.js';
import { servingOf, StoreError, UnknownVersionError, type Deployment, type RegistryStore } from '../../core/stores/registry.js';
import { ARCHITECTURES, type ArchitectureName } from '../../core/ml/architectures.js';
import { hashToken, newClientToken } from '../auth.js';
import { ApiError, notFound, unknownDeployments, validate } from '../errors.js';

const id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lowercase letters, digits, - and _, at most 64');
const modelVersion = z.union([z.literal('latest'), z.number().int().positive()]);

const newClient = z.object({ id, name: z.string().min(1).max(256).optional(), deploymentId: id.nullable().optional() }).strict();
const assignment = z.object({ deploymentId: id.nullable() }).strict();
/** A rollout policy replaces the stored one whole (left-out keys take their defaults); null goes back to the defaults. */
const rolloutPolicy = rolloutPolicySchema.nullable();
const newDeployment = z
  .object({
    id,
    modelName: id,
    modelVersion: modelVersion.default('latest'),
    strategy: deploymentStrategySchema.default('direct'),
    rolloutPolicy: rolloutPolicy.optional(),
  })
  .strict();
const deploymentPatch = z.object({ modelName: id, modelVersion, strategy: deploymentStrategySchema, rolloutPolicy }).partial().strict();
const historyQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }).strict();
const rollbackBody = z
  .object({ by: z.string().trim().min(1).max(256).default('admin'), reason: z.string().trim().min(1).max(1024).optional() })
  .strict();

/** The request schemas, for the API description (api/openapi/). */
export { id, newClient, assignment, newDeployment, deploymentPatch, historyQuery, rollbackBody };

/** Who changes deployments through these routes: the admin token names no one. */
const ADMIN = 'admin';

/** A pin to a version the model does not have is refused, naming the versions it has. */
async function pinnable<T>(change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (err) {
    if (err instanceof UnknownVersionError) throw new ApiError(409, 'unknown_version', err.message);
    throw err;
  }
}

/** Unknown keys are refused with the keys that are valid. */
const strictObject = <S extends z.ZodRawShape>(shape: S) =>
  z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')} (valid: ${Object.keys(shape).join(', ')})` : undefined,
  });

export const sweepSchema = strictObject({
  epochs: z.array(z.number().int().min(1).max(1000)).min(1),
  batchSizes: z.array(z.number().int().min(1).max(4096)).min(1),
  dropouts: z.array(z.number().min(0).lt(1)).min(1),
  learningRates: z.array(z.number().positive().max(1)).min(1),
}).partial();

export const datasetPolicySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('all') }).strict(),
  z.object({ kind: z.literal('last'), perDeployment: z.number().int().min(2) }).strict(),
  z.object({ kind: z.literal('reservoir'), perDeployment: z.number().int().min(2), seed: z.number().int() }).strict(),
]);

export const trainingConfigSchema = strictObject({
  deployments: z.array(id).min(1),
  architecture: z.enum(Object.keys(ARCHITECTURES) as [ArchitectureName, ...ArchitectureName[]]),
  width: z.number().int().min(8).max(640),
  height: z.number().int().min(8).max(480),
  labelMaxMm: z.number().positive().max(10_000),
  testFraction: z.number().gt(0).lt(1),
  seed: z.number().int(),
  datasetPolicy: datasetPolicySchema,
  sweep: sweepSchema,
  selectionMetric: z.string().min(1),
  registerPolicy: z.enum(['always', 'if-better']),
  parallelism: z.number().int().min(1).max(64),
  earlyStopping: strictObject({ patience: z.number().int().min(1).max(1000), validationFraction: z.number().gt(0).lt(0.5).optional() }),
  halving: strictObject({ rungEpochs: z.number().int().min(1).max(1000) }),
  warmStart: z.boolean(),
}).partial();

export interface AdminHooks {
  /** A model's training config or deployments changed: its drift monitor follows (control/monitorSchedules.ts). */
  modelChanged?(modelName: string): Promise<unknown>;
}

/** Management of clients, deployments and training configs (admin token). */
export function adminRoutes(registry: RegistryStore, hooks: AdminHooks = {}): Router {
  const modelChanged = async (...names: string[]) => {
    for (const name of new Set(names)) await hooks.modelChanged?.(name);
  };
  const router = Router();

  router.post('/clients', async (req, res) => {
    const body = validate(newClient, req.body);
    const token = newClientToken();
    if (body.deploymentId && !(await registry.getDeployment(body.deploymentId))) throw notFound(`deployment "${body.deploymentId}"`);
    const client = await registry.createClient({
      id: body.id,
      name: body.name ?? body.id,
      tokenHash: hashToken(token),
      deploymentId: body.deploymentId ?? null,
    });
    const { tokenHash: _hidden, ...visible } = client;
    res.status(201).json({ client: visible, token, note: 'the token is shown only once; the registry keeps its hash' });
  });
  router.get('/clients', async (_req, res) => {
    res.json({ clients: (await registry.listClients()).map(({ tokenHash: _h, ...c }) => c) });
  });
  router.get('/clients/:id', async (req, res) => {
    const client = await registry.getClient(req.params.id);
    if (!client) throw notFound(`client "${req.params.id}"`);
    const { tokenHash: _h, ...visible } = client;
    res.json({ client: visible });
  });
  router.put('/clients/:id/deployment', async (req, res) => {
    const body = validate(assignment, req.body);
    if (!(await registry.assignClient(req.params.id, body.deploymentId))) throw notFound(`client "${req.params.id}"`);
    res.json({ clientId: req.params.id, deploymentId: body.deploymentId });
  });
  router.delete('/clients/:id', async (req, res) => {
    if (!(await registry.deleteClient(req.params.id))) throw notFound(`client "${req.params.id}"`);
    res.status(204).end();
  });

  // An answer with a deployment says what its rovers get: `serving`, and `currentVersion` resolved as /predict
  // resolves it (the stored one is null for direct and pinned deployments).
  const withServing = async (deployment: Deployment) => {
    const serving = await servingOf(registry, deployment);
    return { deployment: { ...deployment, currentVersion: serving.version }, serving };
  };
  router.post('/deployments', async (req, res) => {
    const body = validate(newDeployment, req.body);
    const deployment = await pinnable(() => registry.createDeployment(body, ADMIN));
    await modelChanged(deployment.modelName);
    res.status(201).json(await withServing(deployment));
  });
  router.get('/deployments', async (_req, res) => {
    const read = await Promise.all((await registry.listDeployments()).map(withServing));
    res.json({ deployments: read.map(({ deployment, serving }) => ({ ...deployment, serving })) });
  });
  router.get('/deployments/:id', async (req, res) => {
    const stored = await registry.getDeployment(req.params.id);
    if (!stored) throw notFound(`deployment "${req.params.id}"`);
    const { deployment, serving } = await withServing(stored);
    const clients = (await registry.listClients()).filter((c) => c.deploymentId === deployment.id).map((c) => c.id);
    const rollout = { policy: effectiveRolloutPolicy(deployment.rolloutPolicy), defaults: deployment.rolloutPolicy === null };
    res.json({ deployment, serving, clients, rollout });
  });
  router.patch('/deployments/:id', async (req, res) => {
    const patch = validate(deploymentPatch, req.body);
    const before = await registry.getDeployment(req.params.id);
    const deployment = await pinnable(() => registry.updateDeployment(req.params.id, patch, ADMIN));
    if (!before || !deployment) throw notFound(`deployment "${req.params.id}"`);
    await modelChanged(before.modelName, deployment.modelName);
    res.json(await withServing(deployment));
  });
  router.get('/deployments/:id/serving-history', async (req, res) => {
    const query = validate(historyQuery, req.query, 'query');
    if (!(await registry.getDeployment(req.params.id))) throw notFound(`deployment "${req.params.id}"`);
    res.json({ deployment: req.params.id, history: await registry.servingHistory(req.params.id, query) });
  });
  router.post('/deployments/:id/rollback', async (req, res) => {
    const { by, reason } = validate(rollbackBody, req.body ?? {});
    try {
      const { deployment, change } = await registry.rollbackDeployment(req.params.id, by, reason ?? `manual rollback by ${by}`);
      res.json({ ...(await withServing(deployment)), change });
    } catch (err) {
      if (err instanceof StoreError && err.code === 'conflict') throw new ApiError(409, 'no_previous_version', err.message);
      throw err;
    }
  });
  router.delete('/deployments/:id', async (req, res) => {
    const deployment = await registry.getDeployment(req.params.id);
    if (!deployment || !(await registry.deleteDeployment(req.params.id))) throw notFound(`deployment "${req.params.id}"`);
    await modelChanged(deployment.modelName);
    res.status(204).end();
  });

  router.put('/models/:name/training-config', async (req, res) => {
    validate(id, req.params.name, 'model name');
    const config = validate(trainingConfigSchema.required({ deployments: true }), req.body);
    const known = new Set((await registry.listDeployments()).map((d) => d.id));
    const missing = config.deployments.filter((d) => !known.has(d));
    if (missing.length) throw unknownDeployments(missing);
    const model = await registry.setTrainingConfig(req.params.name, config);
    await modelChanged(model.name);
    res.json({ model });
  });

  return router;
}
