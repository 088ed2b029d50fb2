/**
 * The rover's identity: its client id and token, from a file only its user may read (`CLIENT_ID=` and `TOKEN=`
 * lines, as `POST /clients` answered them). A file others can read is refused: the token is the rover's password.
 */
import { readFile, stat } from 'node:fs/promises';
import { parseEnv } from 'node:util';

export interface Credentials {
  clientId: string;
  token: string;
}

export class CredentialsError extends Error {}

export async function readCredentials(file: string): Promise<Credentials> {
  let mode: number;
  let text: string;
  try {
    mode = (await stat(file)).mode;
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CredentialsError(`cannot read the credentials file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if ((mode & 0o077) !== 0)
    throw new CredentialsError(
      `the credentials file ${file} can be read by others (mode ${(mode & 0o777).toString(8)}): run \`chmod 600 ${file}\``,
    );
  const values = parseEnv(text);
  const clientId = values.CLIENT_ID?.trim();
  const token = values.TOKEN?.trim();
  if (!clientId || !token) throw new CredentialsError(`the credentials file ${file} needs a CLIENT_ID= and a TOKEN= line`);
  return { clientId, token };
}
