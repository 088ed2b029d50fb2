/**
 * What the camera simulator renders: floor, wall, lighting and the rear camera itself.
 * Lengths in millimetres, angles in degrees, colours as linear RGB reflectance 0..1.
 */
export type Rgb = readonly [number, number, number];

export type FloorTextureSpec =
  /** Smooth linoleum/laminate grain, stretched along the wall direction. */
  | { kind: 'grain'; contrast: number; stretch: number }
  /** Carpet: high-frequency fibre noise plus tufts. */
  | { kind: 'carpet'; contrast: number; fibreContrast: number }
  /** Square tiles with grout lines and per-tile shade variation. */
  | { kind: 'tiles'; tilesPerPeriod: number; groutMm: number; groutAlbedo: Rgb; tileJitter: number; contrast: number }
  /** Checkerboard of light and dark tiles of the floor's hue: albedo times `light` or `dark`, lightly mottled. */
  | { kind: 'checker'; tilesPerPeriod: number; light: number; dark: number; contrast: number };

export interface FloorSpec {
  albedo: Rgb;
  texture: FloorTextureSpec;
  /** Millimetres per texel of the procedural texture (the texture tiles every 512 texels). */
  texelMm: number;
  textureSeed: number;
  /** Strength of the specular highlight of the ceiling light (0 = matte). */
  gloss: number;
  shininess: number;
  /** Grazing-angle (Fresnel) reflection of the wall in the floor, 0..1. */
  sheen: number;
}

export interface WallSpec {
  albedo: Rgb;
  plasterContrast: number;
}

export interface LightingSpec {
  color: Rgb;
  intensity: number;
  /** Ceiling light position in the wall frame. */
  heightMm: number;
  fromWallMm: number;
  lateralMm: number;
  /** Uniform ambient light (fraction of intensity). */
  ambient: number;
  /** Floor-coloured light bouncing onto the bottom of the wall. */
  floorBounce: number;
  floorBounceHeightMm: number;
  /** Floor-coloured share of the room's ambient light. */
  roomBounce: number;
  /** Darkening at the floor/wall corner (ambient occlusion), 0..1. */
  contactShadow: number;
  contactShadowMm: number;
  /** Darkening of surfaces close to the rover's body, 0..1. */
  roverShadow: number;
}

export interface CameraSpec {
  width: number;
  height: number;
  jpegQuality: number;
  /** Lens height above the floor. */
  heightMm: number;
  /** Downward tilt of the optical axis. */
  tiltDeg: number;
  hfovDeg: number;
  /** How far the lens sits behind the laser (the laser measures from the bumper). */
  offsetMm: number;
  /** Barrel distortion coefficient of the wide lens. */
  distortion: number;
  /** Corner falloff: corners receive 1/(1+vignette)^2 of the centre's light. */
  vignette: number;
  readNoise: number;
  shotNoise: number;
  /** Rays per pixel, in an N-rooks pattern (anti-aliasing). */
  samplesPerPixel: number;
  /** Mean luminance auto exposure aims for, and how fully it gets there (0..1). */
  aeTarget: number;
  aeStrength: number;
  aeMinGain: number;
  aeMaxGain: number;
  /** Grey-world auto white balance: how fully it neutralises the scene's cast (0..1). */
  awbStrength: number;
  awbMaxGain: number;
  /** ISP colour saturation (1 = none). */
  saturation: number;
}

export interface SceneSpec {
  id: string;
  floor: FloorSpec;
  wall: WallSpec;
  light: LightingSpec;
  camera: CameraSpec;
}

export const DEFAULT_CAMERA: CameraSpec = {
  width: 160,
  height: 120,
  jpegQuality: 85,
  heightMm: 75,
  tiltDeg: 40,
  hfovDeg: 100,
  offsetMm: 45,
  distortion: 0.12,
  vignette: 0.2,
  readNoise: 0.006,
  shotNoise: 0.0004,
  samplesPerPixel: 3,
  aeTarget: 0.2,
  aeStrength: 0.75,
  aeMinGain: 0.35,
  aeMaxGain: 4,
  awbStrength: 0.35,
  awbMaxGain: 2,
  saturation: 1.3,
};

export const DEFAULT_WALL: WallSpec = { albedo: [0.66, 0.63, 0.57], plasterContrast: 0.04 };

export const DEFAULT_LIGHT: LightingSpec = {
  color: [1, 0.9, 0.76],
  intensity: 1,
  heightMm: 1400,
  fromWallMm: 500,
  lateralMm: 150,
  ambient: 0.15,
  floorBounce: 1,
  floorBounceHeightMm: 60,
  roomBounce: 0.3,
  contactShadow: 0.45,
  contactShadowMm: 22,
  roverShadow: 0.25,
};
