import { Router } from 'express';
import { z } from 'zod';
import { driftCheckOf, retrainReasonOf } from '../../core/drift/checkRetrains.js';
import { IMAGE_CHARACTERISTIC_FIELDS } from '../../core/features/fields.js';
import type { ReferenceProfile } from '../../core/drift/referenceProfile.js';
import { manifestFacts, parseManifest } from '../../core/ml/dataset.js';
import { NUMERIC_FIELDS, type MeasurementStore, type NumericField } from '../../core/stores/measurements.js';
import type { ObjectStore } from '../../core/stores/objects.js';
import type { ModelVersion, RegistryStore } from '../../core/stores/registry.js';
import { notFound, validate } from '../errors.js';
import { runLinks } from '../../control/retrainRequests.js';
import { timeParam } from './params.js';

const field = z
  .enum([...NUMERIC_FIELDS, ...IMAGE_CHARACTERISTIC_FIELDS] as unknown as [string, ...string[]])
  .transform((f) => f as NumericField);
const range = z.object({ since: timeParam.optional(), until: timeParam.optional() });
const histogramQuery = range
  .extend({
    field,
    bins: z.coerce.number().int().min(1).max(500).default(20),
    // Left out: the range of the deployment's values of that field.
    min: z.coerce.number().optional(),
    max: z.coerce.number().optional(),
  })
  .refine((q) => q.min === undefined || q.max === undefined || q.max > q.min, { message: 'max must exceed min', path: ['max'] });
const meansQuery = range.extend({ field, windowMs: z.coerce.number().int().min(1000).default(300_000) });
const versionParam = z.coerce.number().int().positive();
const trialsQuery = z.object({ workflowId: z.string().optional(), runId: z.string().optional() });
export { range, histogramQuery, meansQuery, versionParam, trialsQuery };

export interface ReadDeps {
  objects: ObjectStore;
  registry: RegistryStore;
  measurements: MeasurementStore;
  temporalUiUrl: string;
  namespace: string;
}

/** Models, versions with their lineage, trials, retrain requests and deployment statistics (admin token). */
export function readRoutes({ objects, registry, measurements, temporalUiUrl, namespace }: ReadDeps): Router {
  const router = Router();
  const workflowUrl = (v: { workflowId: string; runId: string }) =>
    runLinks({ temporalUi: { url: temporalUiUrl, namespace } }, v.workflowId, v.runId).ui;

  /** A stored JSON object read for the facts it gives; null when it is gone or not what it should be. */
  const readFacts = async <T>(key: string | undefined, facts: (body: Buffer) => T | null): Promise<T | null> => {
    if (!key) return null;
    try {
      return facts(await objects.get(key));
    } catch {
      return null;
    }
  };
  const labelRangeOf = (body: Buffer) => {
    const labels = (JSON.parse(body.toString('utf8')) as Partial<ReferenceProfile>).labels;
    return labels ? { n: labels.n, min: labels.min, max: labels.max, mean: labels.mean } : null;
  };

  const lineageOf = async (v: ModelVersion) => ({
    trial: (await registry.getTrial(v.trialId)) ?? null,
    workflow: { workflowId: v.workflowId, runId: v.runId, url: workflowUrl(v) },
    dataset: {
      manifestKey: v.datasetKey,
      sha256: v.datasetSha256,
      recordCount: v.recordCount,
      deployments: v.sourceDeployments,
      manifest: await readFacts(v.datasetKey, (body) => manifestFacts(parseManifest(body, v.datasetKey))),
      labels: await readFacts(v.referenceProfile?.key, labelRangeOf),
    },
  });

  router.get('/models', async (_req, res) => {
    const models = await registry.listModels();
    res.json({
      models: await Promise.all(
        models.map(async (m) => ({ ...m, latestVersion: (await registry.getLatestModelVersion(m.name))?.version ?? null })),
      ),
    });
  });
  router.get('/models/:name', async (req, res) => {
    const model = await registry.getModel(req.params.name);
    if (!model) throw notFound(`model "${req.params.name}"`);
    res.json({ model, versions: await registry.listModelVersions(model.name) });
  });
  router.get('/models/:name/versions', async (req, res) => {
    if (!(await registry.getModel(req.params.name))) throw notFound(`model "${req.params.name}"`);
    res.json({ versions: await registry.listModelVersions(req.params.name) });
  });
  router.get('/models/:name/versions/:version', async (req, res) => {
    const number = validate(versionParam, req.params.version, 'version');
    const version = await registry.getModelVersion(req.params.name, number);
    if (!version) throw notFound(`model "${req.params.name}" version ${number}`);
    res.json({ version, lineage: await lineageOf(version) });
  });
  router.get('/models/:name/versions/:version/reference-profile', async (req, res) => {
    const number = validate(versionParam, req.params.version, 'version');
    const version = await registry.getModelVersion(req.params.name, number);
    if (!version?.referenceProfile) throw notFound(`a reference profile of model "${req.params.name}" version ${number}`);
    res.type('application/json').send(await objects.get(version.referenceProfile.key));
  });
  router.get('/models/:name/trials', async (req, res) => {
    const filter = validate(trialsQuery, req.query, 'query');
    res.json({ trials: await registry.listTrials({ modelName: req.params.name, ...filter }) });
  });
  router.get('/models/:name/retrain-requests', async (req, res) => {
    const requests = await registry.listRetrainRequests({ modelName: req.params.name });
    res.json({
      requests: requests.map((r) => {
        const check = driftCheckOf(r);
        const { deployment, time, verdict, modelVersion } = check ?? {};
        return {
          ...r,
          reason: retrainReasonOf(r),
          ...(r.workflowId && r.runId ? { links: runLinks({ temporalUi: { url: temporalUiUrl, namespace } }, r.workflowId, r.runId) } : {}),
          ...(check ? { driftCheck: { deployment, time, verdict, modelVersion, drift: `/deployments/${deployment}/drift` } } : {}),
        };
      }),
    });
  });
  router.get('/trials/:id', async (req, res) => {
    const trial = await registry.getTrial(req.params.id);
    if (!trial) throw notFound(`trial "${req.params.id}"`);
    const version = (await registry.listModelVersions(trial.modelName)).find((v) => v.trialId === trial.id) ?? null;
    res.json({
      trial,
      registeredAs: version ? { modelName: version.modelName, version: version.version } : null,
      workflow: { ...trial, url: workflowUrl(trial) },
    });
  });

  const requireDeployment = async (id: string) => {
    if (!(await registry.getDeployment(id))) throw notFound(`deployment "${id}"`);
  };
  router.get('/deployments/:id/stats', async (req, res) => {
    await requireDeployment(req.params.id);
    res.json({ stats: await measurements.deploymentStats(req.params.id, validate(range, req.query, 'query')) });
  });
  router.get('/deployments/:id/histogram', async (req, res) => {
    await requireDeployment(req.params.id);
    const q = validate(histogramQuery, req.query, 'query');
    res.json({ field: q.field, bins: await measurements.histogram(req.params.id, q.field, { min: q.min, max: q.max, count: q.bins }, q) });
  });
  router.get('/deployments/:id/means', async (req, res) => {
    await requireDeployment(req.params.id);
    const q = validate(meansQuery, req.query, 'query');
    res.json({ field: q.field, windowMs: q.windowMs, windows: await measurements.windowedMeans(req.params.id, q.field, q.windowMs, q) });
  });
  return router;
}
