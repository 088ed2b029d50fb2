import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import multer from 'multer';
import { z } from 'zod';
import { imageToPixels } from '../../core/ml/imagePixels.js';
import type { RegistryStore } from '../../core/stores/registry.js';
import { bearerToken, hashToken, sameSecret } from '../auth.js';
import { ApiError, validate } from '../errors.js';
import type { FrameAnalysis } from '../frameAnalysis.js';
import { ModelUnavailableError, type ModelServer } from '../modelServer.js';

export interface PredictDeps {
  registry: RegistryStore;
  models: ModelServer;
  analysis: FrameAnalysis;
  maxImageBytes: number;
}

const fieldsSchema = z.object({
  client_id: z.string().min(1).max(64),
  sensor_value: z
    .string()
    .regex(/^-?\d+(\.\d+)?$/, 'must be a number in mm')
    .transform(Number)
    .pipe(z.number().min(0).max(10_000))
    .optional(),
});

const isJpeg = (b: Buffer) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/**
 * POST /predict: authenticates the rover, predicts with its deployment's model and answers
 * at once; storing the frame, analysing it and writing its record happen after the answer.
 */
export function predictRoutes(deps: PredictDeps): Router {
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: deps.maxImageBytes, files: 1, fields: 8, fieldSize: 1024 },
  });
  const router = Router();
  router.post('/predict', upload.single('image'), async (req, res) => {
    const started = performance.now();
    const fields = validate(fieldsSchema, req.body ?? {}, 'form fields');
    const token = bearerToken(req);
    if (!token) throw new ApiError(401, 'missing_token', 'send the client token as Authorization: Bearer <token>');
    const client = await deps.registry.getClient(fields.client_id);
    if (!client || !sameSecret(hashToken(token), client.tokenHash))
      throw new ApiError(401, 'invalid_token', 'unknown client id or wrong token');
    const image = req.file?.buffer;
    if (!image) throw new ApiError(400, 'missing_image', 'send the frame as a multipart file field named "image"');
    if (!isJpeg(image)) throw new ApiError(415, 'unsupported_media_type', 'the image must be a JPEG');
    if (!client.deploymentId) throw new ApiError(404, 'no_deployment', `client "${client.id}" is not assigned to a deployment`);
    const deployment = await deps.registry.getDeployment(client.deploymentId);
    if (!deployment) throw new ApiError(404, 'no_deployment', `deployment "${client.deploymentId}" does not exist`);

    const lease = await deps.models.acquire(deployment).catch((err) => {
      throw err instanceof ModelUnavailableError ? new ApiError(503, 'model_unavailable', err.message) : err;
    });
    const requestId = randomUUID();
    const frame = {
      requestId,
      time: Date.now(),
      deployment: deployment.id,
      client: client.id,
      sensorValue: fields.sensor_value ?? null,
      image,
    };
    if (!lease) {
      await imageToPixels(image, { width: 8, height: 8 }).catch((err) => {
        throw new ApiError(400, 'invalid_image', err.message);
      });
      deps.analysis.enqueue({
        ...frame,
        modelName: deployment.modelName,
        modelVersion: null,
        prediction: null,
        latencyMs: performance.now() - started,
      });
      throw new ApiError(
        503,
        'no_model',
        `deployment "${deployment.id}" has no version of model "${deployment.modelName}" yet; the frame was recorded`,
      );
    }
    // The lease keeps this request on the version it started with, even if `latest` is swapped meanwhile.
    const { version } = lease;
    let prediction: number;
    try {
      prediction = await lease.predictMm(image);
    } catch (err) {
      if ((err as { code?: string }).code === 'invalid_image') throw new ApiError(400, 'invalid_image', (err as Error).message);
      throw new ApiError(
        503,
        'model_unavailable',
        `model ${version.modelName} v${version.version} cannot serve: ${(err as Error).message}`,
      );
    } finally {
      lease.release();
    }
    const latencyMs = performance.now() - started;
    res.json({
      prediction_mm: prediction,
      deployment: deployment.id,
      model: { name: version.modelName, version: version.version },
      request_id: requestId,
    });
    deps.analysis.enqueue({ ...frame, modelName: version.modelName, modelVersion: version.version, prediction, latencyMs });
  });
  return router;
}
