import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { useSession } from '../session';

const SECTIONS = [
  { href: '#/fleet', label: 'Fleet', match: ['/fleet', '/deployments', '/compare'] },
  { href: '#/drift', label: 'Drift', match: ['/drift'] },
  { href: '#/rollouts', label: 'Rollouts', match: ['/rollouts'] },
  { href: '#/models', label: 'Models', match: ['/models'] },
  { href: '#/retrains', label: 'Retrains', match: ['/retrains'] },
  { href: '#/admin', label: 'Admin', match: ['/admin'] },
];

/** The frame of every page: a skip link, the sections, who is signed in, and the page under its title. */
export function Layout({ path, title, children }: { path: string; title: string; children: ComponentChildren }) {
  const session = useSession();
  useEffect(() => {
    document.title = `${title} · Edge MLOps console`;
  }, [title]);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/fleet">
          Edge MLOps
        </a>
        <nav aria-label="Sections">
          <ul>
            {SECTIONS.map((s) => (
              <li>
                <a
                  href={s.href}
                  aria-current={s.match.some((m) => path.startsWith(m)) || (path === '/' && s.href === '#/fleet') ? 'page' : undefined}
                >
                  {s.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span class={`badge ${session.role === 'admin' ? 'info' : 'muted'}`} title="your role">
            {session.role}
            {session.name ? `: ${session.name}` : ''}
          </span>
          <button type="button" onClick={session.logout}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <h1>{title}</h1>
        {children}
      </main>
    </>
  );
}
