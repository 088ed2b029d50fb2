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
  if (path === '/') {
    location.replace('#/fleet');
    return null;
  }
  for (const page of PAGES) {
    const match = page.pattern.exec(path);
    if (!match) continue;
    const params = match.slice(1).map(decodeURIComponent);
    const Component = page.component;
    return (
      <Layout path={path} title={page.title(params)}>
        <Component params={params} query={query} />
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

render(
  <SessionGate>
    <App />
  </SessionGate>,
  document.getElementById('app')!,
);
