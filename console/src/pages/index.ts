import type { Page } from '../page';
import { AdminPage } from './admin';
import { ComparePage } from './compare';
import { DeploymentPage } from './deployment';
import { FleetPage } from './fleet';
import { ModelPage } from './model';
import { ModelsPage } from './models';
import { AllRetrainsPage, RetrainsPage } from './retrains';
import { VersionPage } from './version';

/** Every page and its hash route; the first match wins. */
export const PAGES: Page[] = [
  { pattern: /^\/(?:fleet)?$/, title: () => 'Fleet', component: FleetPage },
  { pattern: /^\/deployments\/([^/]+)$/, title: ([id]) => `Deployment ${id}`, component: DeploymentPage },
  { pattern: /^\/compare\/([^/]+)\/([^/]+)$/, title: ([a, b]) => `Compare ${a} and ${b}`, component: ComparePage },
  { pattern: /^\/models$/, title: () => 'Models', component: ModelsPage },
  { pattern: /^\/models\/([^/]+)$/, title: ([name]) => `Model ${name}`, component: ModelPage },
  { pattern: /^\/models\/([^/]+)\/versions\/([^/]+)$/, title: ([name, v]) => `${name} v${v}`, component: VersionPage },
  { pattern: /^\/models\/([^/]+)\/retrains$/, title: ([name]) => `Retrain requests of ${name}`, component: RetrainsPage },
  { pattern: /^\/retrains$/, title: () => 'Retrain requests', component: AllRetrainsPage },
  { pattern: /^\/admin$/, title: () => 'Admin', component: AdminPage },
];
