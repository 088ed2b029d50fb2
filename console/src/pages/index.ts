import type { Page } from '../page';
import { FleetPage } from './fleet';
// Models, lineage, retrains and admin (helper C3)
import { AdminPage } from './admin';
import { ModelPage } from './model';
import { ModelsPage } from './models';
import { RetrainsPage } from './retrains';
import { VersionPage } from './version';

/** Every page and its hash route; the first match wins. */
export const PAGES: Page[] = [
  { pattern: /^\/fleet$/, title: () => 'Fleet', component: FleetPage },
  // Models, lineage, retrains and admin (helper C3)
  { pattern: /^\/models$/, title: () => 'Models', component: ModelsPage },
  { pattern: /^\/models\/([^/]+)$/, title: ([name]) => `Model ${name}`, component: ModelPage },
  { pattern: /^\/models\/([^/]+)\/versions\/([^/]+)$/, title: ([name, v]) => `${name} v${v}`, component: VersionPage },
  { pattern: /^\/models\/([^/]+)\/retrains$/, title: ([name]) => `Retrain requests of ${name}`, component: RetrainsPage },
  { pattern: /^\/admin$/, title: () => 'Admin', component: AdminPage },
];
