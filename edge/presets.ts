/**
 * Environment presets, one per thesis phase (the experiment table in docs/EXPERIMENT.md), and a
 * sixth of our own: a floor the project has never seen.
 * Beige: a light, semi-gloss linoleum floor, brighter than the wall. Green: a dark, saturated,
 * high-frequency carpet. Red: red tiles with grout lines. On green and red the floor is darker
 * than the wall, so the floor/wall edge flips polarity; the floor's bounce light tints the wall,
 * auto exposure brightens the frame, and the white balance (amber-blue axis only) keeps the cast.
 * Measured: mean HSV saturation (OpenCV scale) beige ~51, green ~187, red ~155 (thesis: 45 -> 156);
 * a small CNN trained on beige-350 at 32x24 scored 7.2 mm MAE on beige, 143 mm on green, 165 mm on red.
 *
 * Checker (phase 6, the unseen floor): cream and brown tiles of the beige floor's hue (reflectance
 * 1.1x and 0.35x beige's), 128 mm square, same gloss. Its frame means look like beige's, its pixels
 * do not. Measured on 60 frames each, 0-350 mm: hsv_s 49.6 (beige 51.0, inside the drift rule's
 * 40..60 band), hsv_h 20.5 (20.2), lab_a/lab_b 128.0/139.6 (128.2/140.1), brightness_mean 136.3
 * (141.7); but brightness_std 25.9 (18.2), Canny edges 590 (75), GLCM contrast 146 (3.2), FAST
 * keypoints 11 (0). The same CNN scored 7-9 mm MAE on beige and 28-56 mm on the checker: tile edges
 * parallel to the wall look like floor lines, and the brown tiles are darker than the wall.
 */
import { DEFAULT_CAMERA, DEFAULT_LIGHT, DEFAULT_WALL, type FloorSpec, type SceneSpec } from './scene.js';

export interface EnvironmentPreset {
  id: PresetId;
  phase: number;
  description: string;
  scene: SceneSpec;
  /** Parking runs start near this distance. */
  maxStartMm: number;
  /** Approach angle is drawn from -maxAngleDeg..maxAngleDeg. */
  maxAngleDeg: number;
}

export const PRESET_IDS = ['beige-250', 'beige-350', 'green-350', 'green-angled-350', 'red-350', 'checker-350'] as const;
export type PresetId = (typeof PRESET_IDS)[number];

const BEIGE_FLOOR: FloorSpec = {
  albedo: [0.9, 0.81, 0.68],
  texture: { kind: 'grain', contrast: 0.14, stretch: 4 },
  texelMm: 1.5,
  textureSeed: 11,
  gloss: 0.3,
  shininess: 8,
  sheen: 0.35,
};

const GREEN_FLOOR: FloorSpec = {
  albedo: [0.05, 0.32, 0.06],
  texture: { kind: 'carpet', contrast: 0.3, fibreContrast: 0.45 },
  texelMm: 1,
  textureSeed: 23,
  gloss: 0,
  shininess: 1,
  sheen: 0,
};

const RED_FLOOR: FloorSpec = {
  albedo: [0.62, 0.025, 0.025],
  texture: { kind: 'tiles', tilesPerPeriod: 5, groutMm: 2.5, groutAlbedo: [0.36, 0.3, 0.27], tileJitter: 0.1, contrast: 0.06 },
  texelMm: 1.5,
  textureSeed: 37,
  gloss: 0.08,
  shininess: 30,
  sheen: 0.1,
};

const CHECKER_FLOOR: FloorSpec = {
  albedo: BEIGE_FLOOR.albedo,
  texture: { kind: 'checker', tilesPerPeriod: 6, light: 1.1, dark: 0.35, contrast: 0.08 },
  texelMm: 1.5,
  textureSeed: 41,
  gloss: BEIGE_FLOOR.gloss,
  shininess: BEIGE_FLOOR.shininess,
  sheen: BEIGE_FLOOR.sheen,
};

const scene = (id: string, floor: FloorSpec): SceneSpec => ({
  id,
  floor,
  wall: DEFAULT_WALL,
  light: DEFAULT_LIGHT,
  camera: DEFAULT_CAMERA,
});

const beige = scene('beige', BEIGE_FLOOR);
const green = scene('green', GREEN_FLOOR);
const red = scene('red', RED_FLOOR);
const checker = scene('checker', CHECKER_FLOOR);

export const PRESETS: Record<PresetId, EnvironmentPreset> = {
  'beige-250': {
    id: 'beige-250',
    phase: 1,
    description: 'beige floor, 0-250 mm, straight approach',
    scene: beige,
    maxStartMm: 250,
    maxAngleDeg: 0,
  },
  'beige-350': {
    id: 'beige-350',
    phase: 2,
    description: 'beige floor, range extended to 350 mm (label shift)',
    scene: beige,
    maxStartMm: 350,
    maxAngleDeg: 0,
  },
  'green-350': {
    id: 'green-350',
    phase: 3,
    description: 'green carpet, 0-350 mm (covariate shift)',
    scene: green,
    maxStartMm: 350,
    maxAngleDeg: 0,
  },
  'green-angled-350': {
    id: 'green-angled-350',
    phase: 4,
    description: 'green carpet, approach angle up to +-30 degrees (concept drift)',
    scene: green,
    maxStartMm: 350,
    maxAngleDeg: 30,
  },
  'red-350': {
    id: 'red-350',
    phase: 5,
    description: 'red tiled floor, 0-350 mm (covariate shift, alert-triggered retrain)',
    scene: red,
    maxStartMm: 350,
    maxAngleDeg: 0,
  },
  'checker-350': {
    id: 'checker-350',
    phase: 6,
    description:
      "unseen floor: cream and brown checkerboard with the beige floor's mean colour, 0-350 mm (texture shift the saturation band cannot see)",
    scene: checker,
    maxStartMm: 350,
    maxAngleDeg: 0,
  },
};

export function isPresetId(id: string): id is PresetId {
  return (PRESET_IDS as readonly string[]).includes(id);
}

/** Looks a preset up by id; the error lists the valid ids. */
export function getPreset(id: string): EnvironmentPreset {
  if (!isPresetId(id)) throw new Error(`unknown preset "${id}"; valid presets: ${PRESET_IDS.join(', ')}`);
  return PRESETS[id];
}
