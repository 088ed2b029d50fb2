import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiFailure } from '../api';

/** An API refusal as the user reads it: the server's message, its status and code. */
export const failureText = (err: unknown) =>
  err instanceof ApiFailure ? `${err.message} (${err.status} ${err.code})` : err instanceof Error ? err.message : String(err);

/** Thrown by a form's `send` for input the browser can refuse before asking the server. */
export class FormProblem extends Error {}

/**
 * A form that sends one request: its submit button, the API's refusal shown as it came, and the answer rendered
 * by `done` (kept until the next submit).
 */
export function ApiForm<T>({
  label,
  submit,
  send,
  done,
  children,
  class: className = 'stack',
}: {
  label: string;
  submit: string;
  send: () => Promise<T>;
  done?: (answer: T) => ComponentChildren;
  children: ComponentChildren;
  class?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<{ value: T } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <form
      class={className}
      aria-label={label}
      aria-busy={busy}
      onSubmit={async (event) => {
        event.preventDefault();
        setBusy(true);
        setProblem(null);
        try {
          setAnswer({ value: await send() });
        } catch (err) {
          setAnswer(null);
          setProblem(failureText(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      {children}
      <div>
        <button type="submit" class="primary" disabled={busy}>
          {submit}
        </button>
      </div>
      {problem && (
        <p class="problem" role="alert">
          {problem}
        </p>
      )}
      {answer && done && <div role="status">{done(answer.value)}</div>}
    </form>
  );
}

/** A token the server shows once: shown with the warning to copy it now, and a copy button. */
export function OnceToken({ token, what }: { token: string; what: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="once-token">
      <p>
        <strong>Copy this {what} now: it is shown only once.</strong> The server keeps only its hash.
      </p>
      <code aria-label={`the new ${what}`}>{token}</code>{' '}
      <button
        type="button"
        onClick={async () => {
          await navigator.clipboard?.writeText(token);
          setCopied(true);
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}
