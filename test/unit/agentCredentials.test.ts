import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCredentials } from '../../edge/agent/credentials.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'credentials-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function credentialsFile(name: string, text: string, mode: number) {
  const file = path.join(dir, name);
  await writeFile(file, text);
  await chmod(file, mode);
  return file;
}

describe('credentials file', () => {
  it('reads the client id and token from a 0600 (or stricter) file', async () => {
    const file = await credentialsFile('ok.env', '# rover-1\nCLIENT_ID=rover-1\nTOKEN="s3cret-token"\n', 0o600);
    expect(await readCredentials(file)).toEqual({ clientId: 'rover-1', token: 's3cret-token' });
    await chmod(file, 0o400);
    expect(await readCredentials(file)).toEqual({ clientId: 'rover-1', token: 's3cret-token' });
  });

  it.each(['644', '640', '604', '660'])('refuses a file with mode %s and says how to fix it', async (octal) => {
    const file = await credentialsFile(`open-${octal}.env`, 'CLIENT_ID=rover-1\nTOKEN=t\n', parseInt(octal, 8));
    await expect(readCredentials(file)).rejects.toThrow(`chmod 600 ${file}`);
  });

  it('says what is missing', async () => {
    const file = await credentialsFile('partial.env', 'CLIENT_ID=rover-1\n', 0o600);
    await expect(readCredentials(file)).rejects.toThrow(/TOKEN=/);
    await expect(readCredentials(path.join(dir, 'absent.env'))).rejects.toThrow(/ENOENT/);
  });
});
