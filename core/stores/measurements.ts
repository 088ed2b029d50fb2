import type { ImageCharacteristicField, ImageCharacteristics } from '../features/fields.js';

/** One `inference` record per frame: tags, fields and the image's object key. */
export interface InferenceRecord {
  /** Epoch milliseconds. */
  time: number;
  deployment: string;
  client: string;
  modelName: string | null;
  modelVersion: number | null;
  prediction: number | null;
  sensorValue: number | null;
  error: number | null;
  latencyMs: number;
  imageKey: string;
  characteristics: ImageCharacteristics;
}

export interface DatasetRow {
  time: number;
  deployment: string;
  imageKey: string;
  sensorValue: number;
}

export interface DeploymentStats {
  deployment: string;
  count: number;
  labelledCount: number;
  sensorMin: number | null;
  sensorMax: number | null;
  predictionMin: number | null;
  predictionMax: number | null;
  meanError: number | null;
  maxError: number | null;
  modelName: string | null;
  modelVersion: number | null;
}

export type NumericField = 'prediction' | 'sensor_value' | 'error' | 'latency_ms' | ImageCharacteristicField;

export interface HistogramBin {
  lower: number;
  upper: number;
  count: number;
}

export interface WindowMean {
  /** Start of the window, epoch ms. */
  time: number;
  mean: number | null;
  count: number;
}

export interface TimeRange {
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
}

export interface MeasurementStore {
  write(records: InferenceRecord[]): Promise<void>;
  /** Labelled records of the given deployments, oldest first (the training dataset's rows). */
  datasetRows(deployments: string[], range?: TimeRange): Promise<DatasetRow[]>;
  deploymentStats(deployment: string, range?: TimeRange): Promise<DeploymentStats>;
  histogram(deployment: string, field: NumericField, bins: { min: number; max: number; count: number }, range?: TimeRange): Promise<HistogramBin[]>;
  windowedMeans(deployment: string, field: NumericField, windowMs: number, range?: TimeRange): Promise<WindowMean[]>;
  close(): Promise<void>;
}

export const NUMERIC_FIELDS: readonly string[] = ['prediction', 'sensor_value', 'error', 'latency_ms'];
