/**
 * Run as a process of its own (a test process has hooks of its own): connects the API's Temporal client, makes a call
 * with a deadline, and prints whether new promises still carry an AsyncLocalStorage's store during and after it, and
 * what a call past its deadline gives.
 */
import { connectClient } from '../../control/temporal/client.js';

const address = process.argv[2];
const client = await connectClient({ temporal: { address, namespace: 'default', devServer: false, uiPort: 0, uiUrl: '' } });
const hooked = () => Object.getOwnPropertySymbols(Promise.resolve()).some((s) => s.description === 'kResourceStore');
const during = await client.withDeadline(Date.now() + 10_000, async () => {
  await client.workflowService.getSystemInfo({});
  return hooked();
});
const after = hooked();
let late: unknown;
try {
  await client.withDeadline(Date.now() + 50, async () => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return client.workflowService.getSystemInfo({});
  });
  late = 'answered';
} catch (err) {
  late = (err as { code?: unknown }).code ?? String(err);
}
await client.connection.close();
console.log(JSON.stringify({ during, after, late }));
