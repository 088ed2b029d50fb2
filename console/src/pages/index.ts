import type { Page } from '../page';
import { FleetPage } from './fleet';

/** Every page and its hash route; the first match wins. */
export const PAGES: Page[] = [{ pattern: /^\/(?:fleet)?$/, title: () => 'Fleet', component: FleetPage }];
