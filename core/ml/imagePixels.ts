import sharp from 'sharp';
import { DECODE_PIXEL_LIMIT } from '../features/imageGate.js';

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

/** Decodes an image and resizes it to the model input: RGB bytes, row-major HWC. */
export async function imageToPixels(image: Buffer, size: InputSize): Promise<Uint8Array> {
  try {
    const { data, info } = await sharp(image, { failOn: 'truncated', limitInputPixels: DECODE_PIXEL_LIMIT })
      .resize(size.width, size.height, { fit: 'fill' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (err) {
    throw new InvalidImageError(`cannot decode image: ${(err as Error).message}`);
  }
}
