/**
 * The answers the pages read, as the browser receives them (times are ISO strings). Written against the plan of
 * the new read routes; each type moves to an import of contracts/http once its route lands.
 */
export interface FleetRow {
  id: string;
  modelName: string;
  modelVersion: 'latest' | number;
  servingVersion: number | null;
  strategy: string;
  rollout: { stage: string; candidateVersion: number; currentVersion: number | null } | null;
  rovers: string[];
  framesLast5m: number;
  framesPerSecond: number;
  meanError: { last5m: number | null; previous5m: number | null };
  lastFrameAt: string | null;
  lastDrift: { time: string; verdict: string } | null;
  sparkline: { time: string; meanError: number | null; frames: number }[];
}

export interface FleetAnswer {
  at: string;
  deployments: FleetRow[];
  next: string | null;
}
