import type { Page } from '../page';
import { FleetPage } from './fleet';
import { ComparePage } from './compare';
import { DeploymentPage } from './deployment';

/** Every page and its hash route; the first match wins. */
export const PAGES: Page[] = [
  { pattern: /^\/(?:fleet)?$/, title: () => 'Fleet', component: FleetPage },
  { pattern: /^\/deployments\/([^/]+)$/, title: ([id]) => `Deployment ${id}`, component: DeploymentPage },
  { pattern: /^\/compare\/([^/]+)\/([^/]+)$/, title: ([a, b]) => `Compare ${a} and ${b}`, component: ComparePage },
];
