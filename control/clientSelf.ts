import type { ClientSelfAnswer } from '../contracts/http/clients.js';
import { candidateAnswers } from '../core/rollout/candidateArm.js';
import { resolveServedVersion, type RegisteredClient, type RegistryStore } from '../core/stores/registry.js';

/**
 * What a rover asks about itself (`GET /clients/me`): its deployment and the version it gets now, as /predict routes
 * it: a rollout's candidate when the rover is among those the candidate answers (from `candidateOpensAfterMs` into the
 * stage), else the deployment's served version.
 */
export async function clientSelf(
  registry: Pick<RegistryStore, 'getDeployment' | 'getModelVersion' | 'getLatestModelVersion'>,
  client: RegisteredClient,
  candidateOpensAfterMs = 0,
): Promise<ClientSelfAnswer> {
  const deployment = client.deploymentId === null ? undefined : await registry.getDeployment(client.deploymentId);
  if (!deployment) return { client: { id: client.id, name: client.name }, deployment: null };
  const { rollout } = deployment;
  const canary = candidateAnswers(rollout, client.id, Date.now(), candidateOpensAfterMs);
  const currentVersion = canary ? rollout!.candidateVersion : ((await resolveServedVersion(registry, deployment)).version?.version ?? null);
  return {
    client: { id: client.id, name: client.name },
    deployment: { id: deployment.id, modelName: deployment.modelName, currentVersion },
  };
}
