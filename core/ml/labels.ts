/** Labels are distances in mm, clipped to 0..labelMaxMm and scaled to 0..1 for the sigmoid output. */
export const DEFAULT_LABEL_MAX_MM = 350;

export const scaleLabel = (mm: number, labelMaxMm: number) => Math.min(Math.max(mm, 0), labelMaxMm) / labelMaxMm;
export const unscaleLabel = (unit: number, labelMaxMm: number) => unit * labelMaxMm;
