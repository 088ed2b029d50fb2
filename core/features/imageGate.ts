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

/** Markers without a length (TEM, RST0-7): nothing to skip. */
const standalone = (marker: number) => marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7);
/** Start of frame, every coding (SOF0-3, 5-7, 9-11, 13-15); 0xc4, 0xc8 and 0xcc share the range but are not frames. */
const startOfFrame = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

/** A camera's JPEG has a few dozen segments and fill bytes before its first scan; beyond this, sharp reads the header. */
export const HEADER_STEPS_IN_THREAD = 4096;

/**
 * A JPEG's size from its frame header, read in this thread: the segments from the start of the image to its first
 * scan, each one's length checked against the bytes there are. Throws on a header libjpeg would not read: no frame
 * header before the first scan, a segment cut short, a length below 2, a zero width or height. Undefined when the
 * header has more than HEADER_STEPS_IN_THREAD segments and fill bytes: a hostile upload cannot hold the event loop.
 */
export function jpegFrameSize(image: Uint8Array): { width: number; height: number } | undefined {
  const fail = (why: string): never => {
    throw new Error(why);
  };
  let size: { width: number; height: number } | undefined;
  let steps = 0;
  for (let at = 2; ;) {
    if (at >= image.length) fail('the JPEG ends before its first scan');
    if (image[at] !== 0xff) fail(`no marker at byte ${at}`);
    while (image[at] === 0xff) {
      at++; // fill bytes
      if (++steps > HEADER_STEPS_IN_THREAD) return undefined;
    }
    if (at >= image.length) fail('the JPEG ends before its first scan');
    const marker = image[at++];
    if (standalone(marker)) continue;
    if (marker === 0xd8 || marker === 0xd9) fail('an image start or end before the first scan');
    if (at + 2 > image.length) fail('a segment cut short');
    const length = (image[at] << 8) | image[at + 1];
    if (length < 2 || at + length > image.length) fail('a segment cut short or of a length below 2');
    if (marker === 0xda) {
      if (!size) fail('a scan before the frame header');
      return size!;
    }
    if (startOfFrame(marker)) {
      if (size) fail('two frame headers');
      if (length < 8) fail('a frame header cut short');
      size = { height: (image[at + 3] << 8) | image[at + 4], width: (image[at + 5] << 8) | image[at + 6] };
      if (!size.width || !size.height) fail(`a frame of ${size.width}x${size.height}`);
    }
    at += length;
  }
}

const isJpeg = (image: Uint8Array) => image.length >= 3 && image[0] === 0xff && image[1] === 0xd8 && image[2] === 0xff;

/** What a header says: a JPEG's read in this thread; anything else, or a JPEG too long to read here, by sharp's metadata. */
async function headerOf(image: Buffer): Promise<Pick<Metadata, 'format' | 'width' | 'height'>> {
  const size = isJpeg(image) ? jpegFrameSize(image) : undefined;
  if (size) return { format: 'jpeg', ...size };
  return sharp(image, { limitInputPixels: false }).metadata();
}

/**
 * The one gate in front of every decode of a frame: reads only the image header (a JPEG's segments up to its first
 * scan, jpegFrameSize) and refuses what is not a JPEG, what declares more pixels, width or height than
 * the limits allow (413), and what is too narrow for its height or the other way round (422).
 * A header that cannot be read is 400 invalid_image, as a frame that fails to decode.
 */
export async function checkFrame(image: Buffer, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): Promise<{ width: number; height: number }> {
  let metadata: Pick<Metadata, 'format' | 'width' | 'height'>;
  try {
    metadata = await headerOf(image);
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
