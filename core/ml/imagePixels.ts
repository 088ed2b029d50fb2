import sharp from 'sharp';
import type { RgbImage } from '../features/imageCharacteristics.js';
import { openFrame } from '../features/imageGate.js';

export interface InputSize {
  width: number;
  height: number;
}

export class InvalidImageError extends Error {
  readonly code = 'invalid_image';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidImageError';
  }
}

/** Decodes an image into 8-bit sRGB without alpha, resized (sharp's lanczos3, aspect ratio not kept) to `size` if given. */
async function decodeRgb(image: Buffer, size?: InputSize): Promise<RgbImage> {
  try {
    let pipeline = openFrame(image);
    if (size) pipeline = pipeline.resize(size.width, size.height, { fit: 'fill' });
    const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    throw new InvalidImageError(`cannot decode image: ${(err as Error).message}`);
  }
}

/** Decodes an image at its own size (the frame decode policy, without a resize). */
export function decodeImage(image: Buffer): Promise<RgbImage> {
  return decodeRgb(image);
}

/** A frame's JPEG with its pixels decoded once at their own size (for the model and the analysis). */
export interface DecodedFrame {
  jpeg: Buffer;
  rgb: RgbImage;
}

/**
 * The version of what `imageToPixels` makes of a frame. Preprocessed frames are cached under it
 * (core/ml/preprocessedFrames.ts): bump it whenever the pipeline's output changes, and retrains stop finding the old entries.
 */
export const PREPROCESSING_VERSION = 1;

/** Decodes an image and resizes it to the model input in one sharp pipeline: RGB bytes, row-major HWC. */
export async function imageToPixels(image: Buffer, size: InputSize): Promise<Uint8Array> {
  return (await decodeRgb(image, size)).data;
}

/**
 * The model input of a frame, exactly as `imageToPixels` (and so training) makes it. From pixels decoded already
 * when that gives the same bytes: sharp decodes a JPEG shrunk by 2, 4 or 8 when the resize shrinks both sides at
 * least twice, and pixels decoded at full size cannot reproduce that.
 */
export async function pixelsForModel(frame: Buffer | DecodedFrame, size: InputSize): Promise<Uint8Array> {
  if (Buffer.isBuffer(frame)) return imageToPixels(frame, size);
  const { rgb } = frame;
  const shrinksOnLoad = rgb.width >= 2 * size.width && rgb.height >= 2 * size.height;
  if (shrinksOnLoad) return imageToPixels(frame.jpeg, size);
  if (rgb.width === size.width && rgb.height === size.height) return rgb.data;
  const data = await sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
    .resize(size.width, size.height, { fit: 'fill' })
    .raw()
    .toBuffer();
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
