import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';

/** What a frame may be before anything decodes it. */
export interface ImageLimits {
  maxWidth: number;
  maxHeight: number;
  maxPixels: number;
  /** Longer side over shorter side. */
  maxAspectRatio: number;
}

/**
 * What a deployment needs: the rover camera sends 160x120 and a model's input is at most 640x480 (its training config),
 * so frames up to twice that on each side. A progressive JPEG is decoded at its full size whatever the resize (libjpeg
 * keeps all its coefficients), so these limits are what bound a decode's cost: a flat 1280x960 progressive JPEG of
 * 8 kB costs about 30 ms, one of 4096x4096 and 99 kB over 250 ms (on this project's machine).
 */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxWidth: 1280, maxHeight: 1280, maxPixels: 1280 * 960, maxAspectRatio: 8 };

/** Defence in depth for every decode, whatever the limits are set to: sharp refuses inputs with more pixels than this. */
export const DECODE_PIXEL_LIMIT = 4096 * 4096;

/**
 * How every decode of a frame reads its JPEG: /predict, the model input, the analysis (in memory or from the spool)
 * and training. One policy, so a frame /predict could decode is a frame every later decode can. `failOn: 'warning'`
 * refuses truncated or corrupt JPEGs at libjpeg's first complaint (a truncated frame closed with an end marker
 * included), which also ends a header that lies about its size early, before the pixels it claims are made.
 */
export const FRAME_DECODE_OPTIONS: Readonly<SharpOptions> = { failOn: 'warning', limitInputPixels: DECODE_PIXEL_LIMIT };

/** A sharp pipeline on a frame's JPEG with FRAME_DECODE_OPTIONS: the start of every decode of a frame. */
export function openFrame(image: Buffer): Sharp {
  return sharp(image, FRAME_DECODE_OPTIONS);
}

export class ImageRejectedError extends Error {
  constructor(
    readonly status: 400 | 413 | 415 | 422,
    readonly code: 'image_too_large' | 'unsupported_media_type' | 'image_aspect_ratio' | 'image_dimensions' | 'invalid_image',
    message: string,
  ) {
    super(message);
    this.name = 'ImageRejectedError';
  }
}

/**
 * The one gate in front of every decode of a frame: reads only the image header (sharp's
 * metadata) and refuses what is not a JPEG, what declares more pixels, width or height than
 * the limits allow (413), and what is too narrow for its height or the other way round (422).
 * A header that cannot be read is 400 invalid_image, as a frame that fails to decode.
 */
export async function checkFrame(image: Buffer, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): Promise<{ width: number; height: number }> {
  let metadata: Metadata;
  try {
    metadata = await sharp(image, { limitInputPixels: false }).metadata();
  } catch (err) {
    // The same answer as a frame that fails to decode later: 400 invalid_image.
    throw new ImageRejectedError(400, 'invalid_image', `the image header cannot be read: ${(err as Error).message}`);
  }
  if (metadata.format !== 'jpeg') throw new ImageRejectedError(415, 'unsupported_media_type', 'the image must be a JPEG');
  const { width, height } = metadata;
  if (!width || !height) throw new ImageRejectedError(422, 'image_dimensions', 'the JPEG declares no width or height');
  if (width > limits.maxWidth || height > limits.maxHeight || width * height > limits.maxPixels)
    throw new ImageRejectedError(
      413,
      'image_too_large',
      `the JPEG is ${width}x${height}; at most ${limits.maxWidth}x${limits.maxHeight} and ${limits.maxPixels} pixels are accepted`,
    );
  if (Math.max(width, height) / Math.min(width, height) > limits.maxAspectRatio)
    throw new ImageRejectedError(
      422,
      'image_aspect_ratio',
      `the JPEG is ${width}x${height}; its sides may differ by a factor of at most ${limits.maxAspectRatio}`,
    );
  return { width, height };
}
