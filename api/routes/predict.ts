import { randomUUID } from 'node:crypto';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, predictFieldsSchema } from '../../contracts/http/predict.js';
import { frameFingerprint, type IdempotentFrames } from '../../control/idempotentFrames.js';
import { decodeForAnalysis, DEFAULT_ANALYSIS_WIDTH, type AnalysisPixels, type RgbImage } from '../../core/features/imageCharacteristics.js';
import { checkFrame, DEFAULT_IMAGE_LIMITS, ImageRejectedError, type ImageLimits } from '../../core/features/imageGate.js';
import { InvalidImageError } from '../../core/ml/imagePixels.js';
import type { Deployment, RegisteredClient } from '../../core/stores/registry.js';
import type { PredictAnswer } from '../../contracts/http/predict.js';
import { authenticateRover } from '../roverAuth.js';
import { ApiError, multipartError, validate } from '../errors.js';
import { SpoolFullError, type FrameAnalysis, type FrameToAnalyse } from '../../ingest/frameAnalysis.js';
import { ModelUnavailableError, type ModelServer } from '../../serving/modelServer.js';
import type { RegistryLookups } from '../../serving/registryLookups.js';
import { InflightBudget } from './inflightBudget.js';

export interface PredictDeps {
  lookups: RegistryLookups;
  models: ModelServer;
  analysis: FrameAnalysis;
  maxImageBytes: number;
  /** Bytes of uploads received at once (default 64 MiB). */
  inflightMaxBytes?: number;
  /** Frames handled at once, from the upload's start to the answer (default 32). */
  inflightMaxFrames?: number;
  /** Frames one client may have in flight at once (default max(1, floor(inflightMaxFrames / 4))). */
  inflightClientMaxFrames?: number;
  /** From admission to the whole body parsed; a slower upload is answered 408 and its slot freed (default 10 s). */
  uploadTimeoutSeconds?: number;
  /** How late the event loop runs: beyond its bound, new frames are refused at once. */
  pressure?: { readonly overloaded: boolean; readonly delayMs: number };
  imageLimits?: ImageLimits;
  log: { warn(obj: unknown, msg?: string): void; error(obj: unknown, msg?: string): void };
  /** Told of each frame whose upload arrived in full (the API's metrics). */
  metrics?: { frameReceived(): void };
  /** Frames sent with an Idempotency-Key; without it, the header is refused (400). */
  idempotentFrames?: IdempotentFrames;
  /** Oldest frame taken by its frame_age_ms (default 7 days). */
  frameMaxAgeMs?: number;
}

/** Room for the form fields and part headers around the image. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
const OVERLOADED_RETRY_AFTER_S = 1;
const DEFAULT_UPLOAD_TIMEOUT_S = 10;
const UNAVAILABLE_RETRY_AFTER_S = 5;
const DEFAULT_FRAME_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/** 1..255 printable ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;

/** The frame's Idempotency-Key, if it has one. */
function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get(IDEMPOTENCY_KEY_HEADER);
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key))
    throw new ApiError(400, 'invalid_idempotency_key', `${IDEMPOTENCY_KEY_HEADER} must be 1 to 255 printable ASCII characters`);
  return key;
}

/**
 * POST /predict: authenticates the rover from its headers, admits the upload within the
 * memory budget, parses it, checks the image header against the limits, predicts with its
 * deployment's model, makes the frame durable in the spool and only then answers. Storing
 * the frame's object, analysing it and writing its record happen after the answer.
 */
export function predictRoutes(deps: PredictDeps): Router {
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: deps.maxImageBytes, files: 1, fields: 8, fieldSize: 1024, parts: 10, headerPairs: 20 },
  }).single('image');
  const maxFrames = deps.inflightMaxFrames ?? 32;
  const budget = new InflightBudget({
    maxBytes: deps.inflightMaxBytes ?? 64 * 1024 * 1024,
    maxFrames,
    clientMaxFrames: deps.inflightClientMaxFrames ?? defaultClientShare(maxFrames),
  });
  const uploadTimeoutSeconds = deps.uploadTimeoutSeconds ?? DEFAULT_UPLOAD_TIMEOUT_S;
  const limits = deps.imageLimits ?? DEFAULT_IMAGE_LIMITS;
  const { idempotentFrames } = deps;
  const frameMaxAgeMs = deps.frameMaxAgeMs ?? DEFAULT_FRAME_MAX_AGE_MS;
  let lastModelLookupFailure: string | undefined;

  const authenticate: RequestHandler = async (req, res, next) => {
    // As for a refused upload (admit): the body of an unauthenticated one is not read.
    res.setHeader('Connection', 'close');
    res.locals.client = await authenticateRover(req, deps.lookups);
    next();
  };

  const admit: RequestHandler = (req, res, next) => {
    // The body of a refused upload is never read: its connection closes with the answer instead of waiting for it.
    res.setHeader('Connection', 'close');
    const declared = req.get('content-length');
    const bytes = declared === undefined ? deps.maxImageBytes + MULTIPART_OVERHEAD_BYTES : Number(declared);
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new ApiError(400, 'invalid_request', 'Content-Length is not a byte count');
    if (bytes > deps.maxImageBytes + MULTIPART_OVERHEAD_BYTES)
      throw new ApiError(413, 'payload_too_large', `request body of ${bytes} bytes; the image may have at most ${deps.maxImageBytes}`);
    if (deps.analysis.spoolFull()) {
      deps.analysis.countRefused();
      throw new ApiError(503, 'spool_full', 'the API holds as many unstored frames as it may; send again later', UNAVAILABLE_RETRY_AFTER_S);
    }
    if (deps.pressure?.overloaded) {
      deps.analysis.countRefused();
      throw new ApiError(
        503,
        'overloaded',
        `the API is ${Math.round(deps.pressure.delayMs)} ms behind; send again shortly`,
        OVERLOADED_RETRY_AFTER_S,
      );
    }
    const client = res.locals.client as RegisteredClient;
    if (budget.holdsShare(client.id)) {
      deps.analysis.countRefused();
      throw new ApiError(
        429,
        'too_many_inflight',
        `client "${client.id}" has ${budget.limits.clientMaxFrames} frames in flight, as many as one client may; send again shortly`,
        OVERLOADED_RETRY_AFTER_S,
      );
    }
    const release = budget.reserve(bytes, client.id);
    if (!release) {
      deps.analysis.countRefused();
      throw new ApiError(503, 'overloaded', 'the API is handling as many frames as it can; send again shortly', OVERLOADED_RETRY_AFTER_S);
    }
    res.once('close', release);
    res.removeHeader('Connection');
    next();
  };

  /** The body must arrive within the upload deadline: a slow upload (a weak link or a hostile one) cannot keep its slot. */
  const parse: RequestHandler = (req, res, next) => {
    let settled = false;
    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      next(err);
    };
    const deadline = setTimeout(() => {
      // The rest of the body is not worth reading: the connection closes once the answer is out.
      res.setHeader('Connection', 'close');
      settle(new ApiError(408, 'request_timeout', `the upload did not arrive within ${uploadTimeoutSeconds} s; send the frame again`));
    }, uploadTimeoutSeconds * 1000);
    upload(req, res, (err?: unknown) => settle(err === undefined ? undefined : multipartError(err)));
  };

  const router = Router();
  router.post('/predict', authenticate, admit, parse, async (req, res) => {
    const started = performance.now();
    deps.metrics?.frameReceived();
    const client = res.locals.client as RegisteredClient;
    const key = idempotencyKeyOf(req);
    const fields = validate(predictFieldsSchema, req.body ?? {}, 'form fields');
    if (fields.client_id !== undefined && fields.client_id !== client.id)
      throw new ApiError(401, 'invalid_token', 'unknown client id or wrong token');
    const ageMs = fields.frame_age_ms ?? 0;
    if (ageMs > frameMaxAgeMs)
      throw new ApiError(400, 'frame_too_old', `the frame is ${ageMs} ms old; the API takes frames up to ${frameMaxAgeMs} ms old`);
    const image = req.file?.buffer;
    if (!image) throw new ApiError(400, 'missing_image', 'send the frame as a multipart file field named "image"');
    await checkFrame(image, limits).catch((err: unknown) => {
      throw err instanceof ImageRejectedError ? new ApiError(err.status, err.code, err.message) : err;
    });
    if (!client.deploymentId) throw new ApiError(404, 'no_deployment', `client "${client.id}" is not assigned to a deployment`);
    const deployment = await deps.lookups.deployment(client.deploymentId);
    if (!deployment) throw new ApiError(404, 'no_deployment', `deployment "${client.deploymentId}" does not exist`);

    const frame = {
      requestId: randomUUID(),
      time: Date.now() - ageMs,
      deployment: deployment.id,
      client: client.id,
      sensorValue: fields.sensor_value ?? null,
      image,
    };
    if (key === undefined) {
      const answer = await handle(deployment, frame, started, res);
      if (answer) res.json(answer);
      return;
    }
    if (!idempotentFrames)
      throw new ApiError(400, 'invalid_idempotency_key', `this API does not take frames with an ${IDEMPOTENCY_KEY_HEADER}`);
    const claim = await idempotentFrames.claim({
      client: client.id,
      key,
      fingerprint: frameFingerprint(image, frame.sensorValue),
      requestId: frame.requestId,
      frameTime: frame.time,
    });
    if (claim.kind === 'replay') {
      res.set(IDEMPOTENT_REPLAYED_HEADER, 'true').status(claim.answer.status).json(claim.answer.body);
      return;
    }
    // A take-over stores the frame as the handling that died would have: overwritten in the stores, not doubled.
    const claimed = { ...frame, requestId: claim.requestId, time: claim.frameTime };
    const recorded = { now: false };
    try {
      const answer = await handle(deployment, claimed, started, res, recorded);
      if (!answer) {
        await idempotentFrames.release(claim);
        return;
      }
      await idempotentFrames.settle(claim, { status: 200, body: answer });
      res.json(answer);
    } catch (err) {
      // An answer that promises the frame is kept (503 no_model) is given again; a frame not stored frees its key.
      if (recorded.now && err instanceof ApiError)
        await idempotentFrames.settle(claim, { status: err.status, body: { error: { code: err.code, message: err.message } } });
      else if (!recorded.now) await idempotentFrames.release(claim);
      throw err;
    }
  });

  type Frame = { requestId: string; time: number; deployment: string; client: string; sensorValue: number | null; image: Buffer };

  /**
   * Predicts the frame with its deployment's model and makes it durable in the spool; `recorded.now` is set once it
   * is (its answer, 200 or 503 no_model, then promises the frame is kept). Undefined when the rover hung up first.
   */
  async function handle(
    deployment: Deployment,
    frame: Frame,
    started: number,
    res: Response,
    recorded = { now: false },
  ): Promise<PredictAnswer | undefined> {
    const { image } = frame;
    const routing = await deps.models.route(deployment, frame.client).catch((err) => {
      if (err instanceof ModelUnavailableError) throw new ApiError(503, 'model_unavailable', err.message, UNAVAILABLE_RETRY_AFTER_S);
      const reason = (err as Error).message;
      // One line per distinct failure, not one per request while it lasts.
      if (reason !== lastModelLookupFailure) deps.log.warn({ err: reason, deployment: deployment.id }, 'model lookup failed');
      lastModelLookupFailure = reason;
      throw new ApiError(503, 'model_unavailable', 'the model cannot be looked up right now; try again shortly', UNAVAILABLE_RETRY_AFTER_S);
    });
    lastModelLookupFailure = undefined;
    // Decoded once, at the analysis's size, by the decode every later one uses: a frame that fails here is refused,
    // and a frame that passes is one the analysis can read. The model starts from these pixels when they are the frame's own.
    const decode = () =>
      decodeForAnalysis(image, DEFAULT_ANALYSIS_WIDTH).catch((err: Error) => {
        throw new ApiError(400, 'invalid_image', `cannot decode image: ${(err.cause as Error | undefined)?.message ?? err.message}`);
      });
    const forModel = (pixels: AnalysisPixels) => (pixels.ownSize ? { jpeg: image, rgb: pixels } : image);
    // The analysis reads a frame at most DEFAULT_ANALYSIS_WIDTH wide: a narrower decode is its own; a wider frame's
    // JPEG goes to the analysis, which decodes it shrunk as ever.
    const forAnalysis = (rgb: RgbImage | undefined): AnalysisPixels | undefined =>
      rgb && rgb.width <= DEFAULT_ANALYSIS_WIDTH ? { ...rgb, ownSize: true } : undefined;
    if (!routing) {
      await record({
        ...frame,
        pixels: await decode(),
        modelName: deployment.modelName,
        modelVersion: null,
        prediction: null,
        shadowVersion: null,
        latencyMs: performance.now() - started,
      });
      recorded.now = true;
      throw new ApiError(
        503,
        'no_model',
        `deployment "${deployment.id}" has no version of model "${deployment.modelName}" yet; the frame was recorded`,
      );
    }
    // The lease keeps this request on the version it started with, even if `latest` is swapped meanwhile.
    const { lease, shadowVersion } = routing;
    const { version } = lease;
    let prediction: number;
    let pixels: AnalysisPixels | undefined;
    try {
      if (roverHungUp(res)) return undefined;
      if (lease.takesJpeg) {
        // The model's graph decodes the JPEG (a frame it cannot decode is refused) and gives back its pixels.
        const answer = await lease.predict(image);
        prediction = answer.mm;
        pixels = forAnalysis(answer.rgb);
      } else {
        pixels = await decode();
        prediction = await lease.predictMm(forModel(pixels));
      }
    } catch (err) {
      if (err instanceof ApiError) throw err;
      // The model's input is decoded at its own size, which may read more of a damaged JPEG than the analysis did.
      if (err instanceof InvalidImageError) throw new ApiError(400, 'invalid_image', err.message);
      throw new ApiError(
        503,
        'model_unavailable',
        `model ${version.modelName} v${version.version} cannot serve: ${(err as Error).message}`,
        UNAVAILABLE_RETRY_AFTER_S,
      );
    } finally {
      lease.release();
    }
    const latencyMs = performance.now() - started;
    if (roverHungUp(res)) return undefined;
    // A rollout's shadow predicts during the frame's analysis, after this answer.
    await record({ ...frame, pixels, modelName: version.modelName, modelVersion: version.version, prediction, shadowVersion, latencyMs });
    recorded.now = true;
    return {
      prediction_mm: prediction,
      deployment: deployment.id,
      model: { name: version.modelName, version: version.version },
      request_id: frame.requestId,
    };
  }

  /**
   * A rover that hung up has no answer and will send the frame again: predicting it costs the others' time, and
   * storing it would keep it twice.
   */
  function roverHungUp(res: Response): boolean {
    return res.closed || res.req.socket.destroyed;
  }

  /** The answer promises the frame is kept: it is durable in the spool before the answer goes out. */
  async function record(frame: FrameToAnalyse) {
    try {
      await deps.analysis.enqueue(frame);
    } catch (err) {
      if (err instanceof SpoolFullError) throw err;
      deps.log.error({ err, requestId: frame.requestId }, 'frame could not be written to the spool');
      throw new ApiError(503, 'spool_unavailable', 'the frame could not be stored; send it again shortly', UNAVAILABLE_RETRY_AFTER_S);
    }
  }

  return router;
}

/** A client's share of the frames in flight, unless configured: a quarter of them, at least one. */
export const defaultClientShare = (maxFrames: number) => Math.max(1, Math.floor(maxFrames / 4));
