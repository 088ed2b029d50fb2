import sharp, { type JpegOptions } from 'sharp';
import { describe, expect, it } from 'vitest';
import { checkFrame, DEFAULT_IMAGE_LIMITS, HEADER_STEPS_IN_THREAD, jpegFrameSize } from '../../core/features/imageGate.js';
import { computeImageCharacteristics, decodeForAnalysis } from '../../core/features/imageCharacteristics.js';
import { decodeImage, imageToPixels } from '../../core/ml/imagePixels.js';

const jpeg = (width: number, height: number, options: JpegOptions = {}) =>
  sharp({ create: { width, height, channels: 3, background: '#8a7' } })
    .jpeg(options)
    .toBuffer();

/** A small real JPEG whose SOF marker claims another size. */
async function jpegClaiming(width: number, height: number): Promise<Buffer> {
  const small = await jpeg(8, 8);
  const sof = small.findIndex((b, i) => b === 0xff && small[i + 1] === 0xc0);
  small.writeUInt16BE(height, sof + 5);
  small.writeUInt16BE(width, sof + 7);
  return small;
}

describe('image gate', () => {
  it('passes a normal frame and one at the limits', async () => {
    expect(await checkFrame(await jpeg(160, 120))).toEqual({ width: 160, height: 120 });
    expect(await checkFrame(await jpeg(1280, 960))).toEqual({ width: 1280, height: 960 });
  });

  it('refuses from the header alone: declared size, width, height, aspect ratio and format', async () => {
    const cases: [Buffer, number, string][] = [
      [await jpegClaiming(16000, 16000), 413, 'image_too_large'],
      [await jpeg(1281, 200), 413, 'image_too_large'],
      [await jpeg(200, 1281), 413, 'image_too_large'],
      [await jpeg(1280, 1280), 413, 'image_too_large'],
      [await jpeg(1, 1000), 422, 'image_aspect_ratio'],
      [await jpeg(900, 100, { progressive: true }), 422, 'image_aspect_ratio'],
      [
        await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
          .png()
          .toBuffer(),
        415,
        'unsupported_media_type',
      ],
      [Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00]), 400, 'invalid_image'],
    ];
    for (const [image, status, code] of cases) await expect(checkFrame(image)).rejects.toMatchObject({ status, code });
  });

  it('reads a JPEG header in this thread with the outcome sharp gave: every prefix and byte change of the header passes, or is refused by the gate or the decode, as before', async () => {
    const bySharp = (image: Buffer) =>
      sharp(image, { limitInputPixels: false })
        .metadata()
        .then(
          (m) => (m.format === 'jpeg' && m.width && m.height ? `${m.width}x${m.height}` : 'refused'),
          () => 'refused',
        );
    const byThisThread = (image: Buffer) => {
      try {
        const size = jpegFrameSize(image);
        return size ? `${size.width}x${size.height}` : 'left to sharp';
      } catch {
        return 'refused';
      }
    };
    const inputs: Buffer[] = [];
    for (const image of [await jpeg(160, 120), await jpeg(64, 48, { progressive: true })]) {
      const sos = image.findIndex((b, i) => b === 0xff && image[i + 1] === 0xda);
      const headerEnd = sos + 2 + image.readUInt16BE(sos + 2);
      for (let n = 3; n <= headerEnd + 4; n++)
        inputs.push(image.subarray(0, n), Buffer.concat([image.subarray(0, n), Buffer.from([0xff, 0xd9])]));
      for (let i = 3; i < headerEnd; i++)
        for (const value of [0x00, 0x01, 0xc0, 0xd9, 0xda, 0xff, (image[i] + 1) & 0xff]) {
          const changed = Buffer.from(image);
          changed[i] = value;
          inputs.push(changed);
        }
    }
    const differences: string[] = [];
    let differ = 0;
    for (const image of inputs) {
      const [before, now] = [await bySharp(image), byThisThread(image)];
      if (before === now) continue;
      differ++;
      // Where the two header reads differ, the frame is one the decode refuses: /predict answers 400 invalid_image either way.
      const decoded = await decodeImage(image).then(
        () => 'decoded',
        (err: { code?: string }) => err.code,
      );
      if (decoded !== 'invalid_image') differences.push(`${image.length} bytes: sharp ${before}, now ${now}, decode ${decoded}`);
    }
    console.log(`${inputs.length} headers; the reads differ on ${differ}, each one the decode refuses`);
    expect(differences).toEqual([]);
  });

  it('leaves a header of more segments than a camera writes to sharp, which reads it off the event loop', async () => {
    const image = await jpeg(160, 120);
    const comments = Buffer.alloc(4 * (HEADER_STEPS_IN_THREAD + 1));
    for (let at = 0; at < comments.length; at += 4) comments.set([0xff, 0xfe, 0x00, 0x02], at);
    const padded = Buffer.concat([image.subarray(0, 2), comments, image.subarray(2)]);
    expect(jpegFrameSize(padded)).toBeUndefined();
    expect(await checkFrame(padded)).toEqual({ width: 160, height: 120 });
  });

  it('takes its limits as settings', async () => {
    const limits = { ...DEFAULT_IMAGE_LIMITS, maxPixels: 10_000, maxAspectRatio: 2 };
    await expect(checkFrame(await jpeg(160, 120), limits)).rejects.toMatchObject({ status: 413 });
    await expect(checkFrame(await jpeg(90, 30), limits)).rejects.toMatchObject({ status: 422 });
  });
});

describe('decoding a frame', () => {
  it('never enlarges a narrow frame for analysis', async () => {
    const narrow = await decodeForAnalysis(await jpeg(4, 600), 160);
    expect([narrow.width, narrow.height]).toEqual([4, 600]);
    const wide = await decodeForAnalysis(await jpeg(640, 480), 160);
    expect([wide.width, wide.height]).toEqual([160, 120]);
  });

  it('reads a frame by one policy in every decode: a truncated JPEG decoded at its own size is refused by each', async () => {
    const noise = Buffer.from(Array.from({ length: 320 * 240 * 3 }, (_, i) => (i * 7919) % 251));
    for (const progressive of [false, true]) {
      const full = await sharp(noise, { raw: { width: 320, height: 240, channels: 3 } })
        .jpeg({ quality: 80, progressive })
        .toBuffer();
      for (const share of [0.2, 0.5, 0.9, 0.99]) {
        const cut = full.subarray(0, Math.floor(full.length * share));
        // Closed with its end marker or not. (A decode shrunk on load may not read the whole JPEG, so it is left out.)
        for (const frame of [cut, Buffer.concat([cut, Buffer.from([0xff, 0xd9])])]) {
          const outcomes = await Promise.all(
            [
              () => decodeImage(frame),
              () => decodeForAnalysis(frame, 320),
              () => imageToPixels(frame, { width: 320, height: 240 }),
              () => imageToPixels(frame, { width: 200, height: 150 }),
            ].map((decode) =>
              decode().then(
                () => 'decoded',
                (err: { code?: string }) => err.code,
              ),
            ),
          );
          expect([progressive, share, frame.length, outcomes]).toEqual([progressive, share, frame.length, Array(4).fill('invalid_image')]);
        }
      }
    }
  });

  it('refuses more pixels than the limit before decoding, in the analysis and for the model', async () => {
    const bomb = await jpegClaiming(16000, 16000);
    const started = performance.now();
    await expect(computeImageCharacteristics(bomb)).rejects.toMatchObject({ code: 'invalid_image' });
    await expect(imageToPixels(bomb, { width: 20, height: 15 })).rejects.toMatchObject({ code: 'invalid_image' });
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
