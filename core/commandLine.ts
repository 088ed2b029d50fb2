/**
 * What every command-line entry shares: `--help`/`-h` prints the usage and exits 0; a wrong flag, a missing
 * value or a typo prints one line saying what was wrong plus the usage and exits 2; an error the operator
 * caused (an unreachable API, a wrong token, a missing file) is one line and exits 1. Anything else is a bug
 * and keeps its stack, as does every error under LOG_LEVEL=debug.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The command line is wrong: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** Something the operator can fix (start a service, set a token, name an existing file): one line, exit code 1. */
export class OperatorError extends Error {}

class HelpRequested extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs (strict), with `--help`/`-h` and one-line messages for what it refuses. */
export function parseCommandLine<O extends Options>(argv: string[], options: O, { positionals = false } = {}) {
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested();
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: positionals });
  } catch (err) {
    throw new UsageError(parseArgsMessage(err as Error & { code?: string }, Object.keys(options)));
  }
}

function parseArgsMessage(err: Error & { code?: string }, known: string[]): string {
  const option = /'(-[^' ]+)/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
    const guess = closest(option.replace(/^-+/, '').split('=')[0], known);
    return `unknown option ${option}${guess ? ` (did you mean --${guess}?)` : ''}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    return /argument missing/.test(err.message) ? `${option.split(' ')[0]} needs a value` : `${option} takes no value`;
  }
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ''}`.trim();
  return err.message.split('\n')[0];
}

/** The known option within two edits of the given one, if there is exactly one closest. */
function closest(given: string, known: string[]): string | undefined {
  const scored = known.map((name) => ({ name, d: editDistance(given, name) })).sort((a, b) => a.d - b.d);
  return scored[0] && scored[0].d <= 2 && scored[1]?.d !== scored[0].d ? scored[0].name : undefined;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** The exit code for an error thrown by a command's main, after printing it as the module comment says. */
export function reportCommandError(err: unknown, usage: string): number {
  if (err instanceof HelpRequested) {
    console.log(usage);
    return 0;
  }
  if (err instanceof UsageError) {
    console.error(`error: ${err.message}\n\n${usage}`);
    return 2;
  }
  if (err instanceof OperatorError && process.env.LOG_LEVEL !== 'debug' && process.env.LOG_LEVEL !== 'trace') {
    console.error(`error: ${err.message}`);
    return 1;
  }
  console.error(err);
  return 1;
}

/** For an entry that serves from its first line: the parsed command line, or the usage or the error printed and exit. */
export function parseCommandLineOrExit<O extends Options>(usage: string, argv: string[], options: O = {} as O) {
  try {
    return parseCommandLine(argv, options);
  } catch (err) {
    process.exit(reportCommandError(err, usage));
  }
}

/** Runs a command's main and exits with its code (0 when it returns nothing), printing errors as the module comment says. */
export function runCommand(usage: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (err: unknown) => process.exit(reportCommandError(err, usage)),
  );
}

/** The one-line reason a fetch to `url` failed before any answer, e.g. "connection refused". */
export function unreachableReason(err: unknown): string | undefined {
  if (!(err instanceof TypeError) || err.message !== 'fetch failed') return undefined;
  const cause = (err as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'unknown host',
    EAI_AGAIN: 'host name lookup failed',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'timed out',
    UND_ERR_CONNECT_TIMEOUT: 'timed out',
  };
  return (code && reasons[code]) ?? code ?? cause?.message ?? 'no answer';
}
