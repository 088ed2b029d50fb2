import type { ComponentType } from 'preact';

/** What a page gets from its route: the pattern's groups, and the hash's query (`#/drift?deployment=yard`). */
export interface PageProps {
  params: string[];
  query: URLSearchParams;
}

export interface Page {
  pattern: RegExp;
  title: (params: string[]) => string;
  component: ComponentType<PageProps>;
}

/** A link to a page of the console (hash routes), its parts encoded. */
export const pageHref = (...parts: (string | number)[]) => `#/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`;
