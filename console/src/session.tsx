import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { ApiFailure, forgetToken, getJson, onUnauthorised, storeToken, storedToken } from './api';

export type Role = 'admin' | 'viewer';
export interface Session {
  role: Role;
  name: string | null;
  logout: () => void;
}

const SessionContext = createContext<Session | null>(null);

/** The signed-in user; pages render only inside a session. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a session');
  return session;
}

export const canAct = (session: Session) => session.role === 'admin';

/** Who an action was taken by, as the registry and the workflows record it (`by`). */
export const actor = (session: Session) => `${session.name ?? 'admin'} (console)`;

/** Asks for a token until the API accepts one (`GET /session`), then renders the console with its role. */
export function SessionGate({ children }: { children: ComponentChildren }) {
  const [who, setWho] = useState<{ role: Role; name: string | null } | null>(null);
  const [checking, setChecking] = useState(storedToken() != null);
  const [problem, setProblem] = useState<string | null>(null);

  const logout = () => {
    forgetToken();
    setWho(null);
  };

  const check = async (token: string) => {
    setChecking(true);
    try {
      const answer = await getJson<{ role: Role; name: string | null }>('/session', token);
      storeToken(token);
      setWho(answer);
      setProblem(null);
    } catch (err) {
      forgetToken();
      setProblem(err instanceof ApiFailure && err.status === 401 ? 'That token is not accepted.' : (err as Error).message);
    } finally {
      setChecking(false);
    }
  };

  useEffect(() => {
    const token = storedToken();
    if (token) void check(token);
    return onUnauthorised(() => {
      forgetToken();
      setWho(null);
      setProblem('The session ended: the token is no longer accepted.');
    });
  }, []);

  if (who) return <SessionContext.Provider value={{ ...who, logout }}>{children}</SessionContext.Provider>;
  if (checking) return <p class="loading">Checking the session…</p>;
  return <Login onSubmit={check} problem={problem} />;
}

function Login({ onSubmit, problem }: { onSubmit: (token: string) => void; problem: string | null }) {
  const [token, setToken] = useState('');
  return (
    <main class="login" id="main">
      <h1>Edge MLOps console</h1>
      <p>Sign in with an admin token, or a viewer token an admin created for you.</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (token.trim()) onSubmit(token.trim());
        }}
      >
        <label for="token">Access token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          required
        />
        <button type="submit">Sign in</button>
      </form>
      {problem && (
        <p class="problem" role="alert">
          {problem}
        </p>
      )}
    </main>
  );
}
