import { render } from 'preact';
import './styles.css';
import { useHashPath } from './hooks';
import { SessionGate } from './session';
import { Layout } from './components/Layout';
import { PAGES } from './pages';

/** Hash routes (`#/deployments/beige`): the server serves one static folder, and every page is a deep link. */
function App() {
  const hashPath = useHashPath();
  const [path, search = ''] = hashPath.split('?', 2);
  const query = new URLSearchParams(search);
  for (const page of PAGES) {
    const match = page.pattern.exec(path);
    if (!match) continue;
    const params = match.slice(1).map(decodeURIComponent);
    const Component = page.component;
    return (
      <Layout path={path} title={page.title(params)}>
        <Component key={path} params={params} query={query} />
      </Layout>
    );
  }
  return (
    <Layout path={path} title="Not found">
      <p>
        No page at <code>{path}</code>. <a href="#/fleet">Go to the fleet.</a>
      </p>
    </Layout>
  );
}

const root = document.getElementById('app')!;
// The page's "Loading…" text is not Preact's to diff: it goes before the first render.
root.replaceChildren();
render(
  <SessionGate>
    <App />
  </SessionGate>,
  root,
);
