import sharp, { type Metadata } from 'sharp';

/** What a frame may be before anything decodes it. */
export interface ImageLimits {
  maxWidth: number;
  maxHeight: number;
  maxPixels: number;
  /** Longer side over shorter side. */
  maxAspectRatio: number;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxWidth: 4096, maxHeight: 4096, maxPixels: 16_777_216, maxAspectRatio: 8 };

/** Defence in depth for every decode: sharp refuses inputs with more pixels than this. */
export const DECODE_PIXEL_LIMIT = DEFAULT_IMAGE_LIMITS.maxPixels;

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
