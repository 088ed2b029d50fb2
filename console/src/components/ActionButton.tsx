import { useState } from 'preact/hooks';
import { ApiFailure, sendJson } from '../api';
import { canAct, useSession } from '../session';

/**
 * A change on the server, asked twice (the button, then "Confirm"), shown only to an admin. `onDone` reloads what
 * the change affects.
 */
export function ActionButton({
  label,
  method = 'POST',
  path,
  body,
  confirm,
  onDone,
  danger,
}: {
  label: string;
  method?: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  /** The question asked before acting. */
  confirm: string;
  onDone?: (answer: unknown) => void;
  danger?: boolean;
}) {
  const session = useSession();
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  if (!canAct(session)) return null;

  const act = async () => {
    setBusy(true);
    try {
      const answer = await sendJson(method, path, body);
      setOutcome({ ok: true, text: `${label}: done` });
      onDone?.(answer);
    } catch (err) {
      setOutcome({ ok: false, text: err instanceof ApiFailure ? `${label}: ${err.message} (${err.status} ${err.code})` : String(err) });
    } finally {
      setBusy(false);
      setAsking(false);
    }
  };

  return (
    <span class="action">
      {asking ? (
        <span role="group" aria-label={confirm}>
          <span class="confirm-question">{confirm}</span>
          <button type="button" class={danger ? 'danger' : 'primary'} disabled={busy} onClick={act}>
            Confirm {label.toLowerCase()}
          </button>
          <button type="button" onClick={() => setAsking(false)}>
            Cancel
          </button>
        </span>
      ) : (
        <button type="button" class={danger ? 'danger' : undefined} onClick={() => setAsking(true)}>
          {label}
        </button>
      )}
      {outcome && (
        <span class={outcome.ok ? 'done' : 'problem'} role="status">
          {outcome.text}
        </span>
      )}
    </span>
  );
}
