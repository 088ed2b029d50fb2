// The layers, kept by `npm run lint:layers` and test/unit/layers.test.ts (both in `npm test`). Arrows point down:
//   api/ (HTTP) -> control/ (decisions, Temporal access), serving/, ingest/ -> core/ (the domain)
//   workers/ -> activities/ -> control/, core/;  workflows/ -> workflows/shared.ts, contracts, pure core/
//   edge/ (the rover) -> core/;  console/ (the browser) -> contracts/http types;  scripts/, bench/, test/ may use anything.
// Type-only imports count (tsPreCompilationDeps): a cycle of types is still a circle a reader has to untie.
const LAYERS = '(api|console|contracts|control|serving|ingest|activities|workflows|workers|edge|grafana|deploy|scripts|bench|test)';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'a circle of imports has no bottom to read from', from: {}, to: { circular: true } },
    {
      name: 'core-is-the-bottom',
      severity: 'error',
      comment: 'core/ is the domain: it imports no layer above it',
      from: { path: '^core/' },
      to: { path: `^${LAYERS}/` },
    },
    {
      name: 'nothing-below-api-imports-api',
      severity: 'error',
      comment: 'api/ only translates HTTP; what it calls must not need it',
      from: { path: '^(core|contracts|control|serving|ingest|activities|workflows|workers|edge|grafana|deploy)/' },
      to: { path: '^api/' },
    },
    {
      name: 'control-speaks-no-http',
      severity: 'error',
      comment: 'control/ decides; the API maps its ControlErrors to statuses',
      from: { path: '^control/' },
      to: { path: ['^(serving|ingest|activities|workers|edge)/', '^node_modules/(express|multer)/'] },
    },
    {
      name: 'serving-and-ingest-below-control',
      severity: 'error',
      comment: 'serving/ and ingest/ are the hot path of a frame: stores and models, no Temporal, no HTTP',
      from: { path: '^(serving|ingest)/' },
      to: { path: ['^(control|activities|workflows|workers|edge)/', '^node_modules/(express|multer)/'] },
    },
    {
      name: 'activities-are-plain-functions',
      severity: 'error',
      comment: 'activities use core/ and control/; workers wire them',
      from: { path: '^activities/' },
      to: { path: '^(serving|ingest|workers|edge)/' },
    },
    {
      name: 'workflows-import-contracts-and-pure-core',
      severity: 'error',
      comment: 'workflow code runs in a deterministic sandbox: activities by their types only (proxyActivities)',
      from: { path: '^workflows/' },
      to: { path: ['^(control|serving|ingest|workers|edge)/', '^activities/'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'store-clients-load-when-named',
      severity: 'error',
      comment:
        'the S3 and InfluxDB clients are imported when a store URL names them (core/stores/index.ts): an API on files and SQLite keeps them off its heap',
      from: { path: '^(core|api|control|serving|ingest)/', pathNot: '^core/stores/(s3|influx)/' },
      to: { path: '^core/stores/(s3|influx)/', dependencyTypesNot: ['dynamic-import', 'type-only'] },
    },
    {
      name: 'contracts-are-leaves',
      severity: 'error',
      comment: 'a contract (and workflows/shared.ts) is read by every side: it imports only core/, shared.ts and other contracts',
      from: { path: '^workflows/(shared|[^/]+/contract)\\.ts$' },
      to: { pathNot: ['^core/', '^workflows/(shared|[^/]+/contract)\\.ts$', '^node_modules/@temporalio/'] },
    },
    {
      name: 'wire-contracts-are-leaves',
      severity: 'error',
      comment: 'contracts/http describes what crosses the wire, for the API, its clients and the rover alike',
      from: { path: '^contracts/' },
      to: { path: '^(control|serving|ingest|activities|workers|edge)/' },
    },
    {
      name: 'edge-is-the-rover',
      severity: 'error',
      comment: 'the rover runs on its own: it reaches the system through HTTP only',
      from: { path: '^edge/' },
      to: { path: '^(api|control|serving|ingest|activities|workflows|workers)/' },
    },
    {
      name: 'console-is-a-browser-app',
      severity: 'error',
      comment: 'the console runs in the browser and reaches the system through the JSON API only',
      from: { path: '^console/' },
      to: { path: '^(api|core|control|serving|ingest|activities|workflows|workers|edge|grafana|deploy|scripts|bench|test)/' },
    },
    {
      name: 'console-knows-the-wire-by-its-types',
      severity: 'error',
      comment: 'contracts/http describes the answers the console reads; its zod schemas stay on the server',
      from: { path: '^console/' },
      to: { path: '^contracts/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'nothing-imports-the-console',
      severity: 'error',
      comment: 'the console is a leaf: the server serves its built files and never runs its code',
      from: { pathNot: '^console/' },
      to: { path: '^console/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // A worktree's node_modules may be a link: packages keep their node_modules/ path.
    preserveSymlinks: true,
    exclude: { path: '^(\\.tools|\\.services|data)/' },
    tsPreCompilationDeps: 'specify',
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
