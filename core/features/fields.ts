/**
 * Names of the per-frame image characteristics (the drift signals, docs/EXPERIMENT.md).
 * The measurement store, the API and the Grafana provisioning all take field names from here.
 * Scales follow OpenCV's 8-bit conventions so the thesis thresholds carry over:
 * H in 0..180, S and V in 0..255, Lab L/a/b in 0..255 (a and b offset by 128).
 */
export const IMAGE_CHARACTERISTIC_FIELDS = [
  'brightness_mean',
  'brightness_std',
  'r_mean',
  'r_std',
  'g_mean',
  'g_std',
  'b_mean',
  'b_std',
  'lab_l',
  'lab_a',
  'lab_b',
  'hsv_h',
  'hsv_s',
  'hsv_v',
  'edge_count',
  'glcm_contrast',
  'glcm_dissimilarity',
  'glcm_homogeneity',
  'glcm_asm',
  'glcm_energy',
  'glcm_correlation',
  'keypoint_count',
] as const;

export type ImageCharacteristicField = (typeof IMAGE_CHARACTERISTIC_FIELDS)[number];
export type ImageCharacteristics = Record<ImageCharacteristicField, number>;
