import { monitorConfigSchema } from '../core/drift/monitorConfig.js';
import type { ActivityContext } from './context.js';

export interface MonitoredDeployments {
  /** False when the model's monitor is turned off (or it has no training config to retrain with). */
  enabled: boolean;
  deployments: string[];
}

/** The deployments a drift check of the model looks at: every deployment that serves it, read at each check. */
export const monitoredDeployments =
  ({ stores }: ActivityContext) =>
  async (modelName: string): Promise<MonitoredDeployments> => {
    const model = await stores.registry.getModel(modelName);
    const enabled = !!model?.trainingConfig && monitorConfigSchema.parse(model.monitorConfig ?? {}).enabled;
    const deployments = (await stores.registry.listDeployments()).filter((d) => d.modelName === modelName).map((d) => d.id);
    return { enabled, deployments: enabled ? deployments : [] };
  };
