/**
 * The fields a histogram can show (`GET /deployments/:id/histogram?field=`): the laser, the prediction, the error and
 * the 22 image characteristics (core/features/fields.ts; test/unit/console-fields.test.ts keeps the two lists equal).
 */
export interface FieldInfo {
  field: string;
  label: string;
  /** The axis unit, when there is one. */
  unit?: string;
}

export const MEASURED_FIELDS: FieldInfo[] = [
  { field: 'sensor_value', label: 'Laser distance', unit: 'mm' },
  { field: 'prediction', label: 'Prediction', unit: 'mm' },
  { field: 'error', label: 'Error |prediction − laser|', unit: 'mm' },
];

export const CHARACTERISTIC_FIELDS: FieldInfo[] = [
  { field: 'brightness_mean', label: 'Brightness, mean', unit: '0–255' },
  { field: 'brightness_std', label: 'Brightness, std. dev.', unit: '0–255' },
  { field: 'r_mean', label: 'Red, mean', unit: '0–255' },
  { field: 'r_std', label: 'Red, std. dev.', unit: '0–255' },
  { field: 'g_mean', label: 'Green, mean', unit: '0–255' },
  { field: 'g_std', label: 'Green, std. dev.', unit: '0–255' },
  { field: 'b_mean', label: 'Blue, mean', unit: '0–255' },
  { field: 'b_std', label: 'Blue, std. dev.', unit: '0–255' },
  { field: 'lab_l', label: 'Lab lightness L', unit: '0–255' },
  { field: 'lab_a', label: 'Lab a (green–red)', unit: '0–255' },
  { field: 'lab_b', label: 'Lab b (blue–yellow)', unit: '0–255' },
  { field: 'hsv_h', label: 'HSV hue', unit: '0–180' },
  { field: 'hsv_s', label: 'HSV saturation', unit: '0–255' },
  { field: 'hsv_v', label: 'HSV value', unit: '0–255' },
  { field: 'edge_count', label: 'Edge pixels', unit: 'pixels' },
  { field: 'glcm_contrast', label: 'GLCM contrast' },
  { field: 'glcm_dissimilarity', label: 'GLCM dissimilarity' },
  { field: 'glcm_homogeneity', label: 'GLCM homogeneity' },
  { field: 'glcm_asm', label: 'GLCM angular second moment' },
  { field: 'glcm_energy', label: 'GLCM energy' },
  { field: 'glcm_correlation', label: 'GLCM correlation' },
  { field: 'keypoint_count', label: 'Keypoints', unit: 'keypoints' },
];

export const HISTOGRAM_FIELDS: FieldInfo[] = [...MEASURED_FIELDS, ...CHARACTERISTIC_FIELDS];

export const fieldInfo = (field: string): FieldInfo => HISTOGRAM_FIELDS.find((f) => f.field === field) ?? { field, label: field };

/** An axis title: the label and its unit. */
export const axisTitle = (info: FieldInfo) => (info.unit ? `${info.label} (${info.unit})` : info.label);
