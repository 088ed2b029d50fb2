/** Labels are distances in mm, clipped to 0..labelMaxMm and scaled to 0..1 for the sigmoid output. */
export const clipLabel = (mm: number, labelMaxMm: number) => Math.min(Math.max(mm, 0), labelMaxMm);
export const unscaleLabel = (unit: number, labelMaxMm: number) => unit * labelMaxMm;
