import type { Page } from '../page';
import { FleetPage } from './fleet';
import { DriftPage } from './drift';
import { RolloutPage, RolloutsPage } from './rollouts';

/** Every page and its hash route; the first match wins. */
export const PAGES: Page[] = [
  { pattern: /^\/fleet$/, title: () => 'Fleet', component: FleetPage },
  { pattern: /^\/drift$/, title: () => 'Drift', component: DriftPage },
  { pattern: /^\/rollouts$/, title: () => 'Rollouts', component: RolloutsPage },
  { pattern: /^\/rollouts\/([^/]+)$/, title: ([id]) => `Rollout on ${id}`, component: RolloutPage },
];
