import sharp from 'sharp';

/** A simple labelled frame for store and workflow tests: a bright band whose height encodes the distance. */
export async function syntheticFrame(distanceMm: number, width = 80, height = 60): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3, 60);
  const bandTop = Math.round((1 - Math.min(distanceMm, 350) / 350) * (height - 8));
  for (let y = bandTop; y < bandTop + 8; y++) raw.fill(230, y * width * 3, (y + 1) * width * 3);
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}
