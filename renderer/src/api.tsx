import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import type { BackOfficeCommandName, BridgeCommand, BridgeError, BridgeResult, CommandInput, CommandOptions, CommandOutput, SignedIn } from '../../core/backoffice/bridge.js';
import { BRIDGE_COMMANDS } from '../../core/backoffice/bridge.js';
import { bridge } from './bridge';
import i18n from './i18n';

/** What the screens know about the session, and the one way they run commands. */
export interface BackOfficeSession {
  me: SignedIn['staff'];
  /** Runs a registry command; a lost session sends the officer back to sign-in. */
  run<N extends BackOfficeCommandName>(name: N, input: CommandInput<N>, options?: CommandOptions): Promise<BridgeResult<CommandOutput<N>>>;
  can(name: BackOfficeCommandName): boolean;
}

export const SessionContext = createContext<BackOfficeSession | null>(null);

export function useSession(): BackOfficeSession {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in shell');
  return s;
}

export function makeSession(me: SignedIn['staff'], onSessionLost: (error: BridgeError) => void): BackOfficeSession {
  return {
    me,
    can: (name) => BRIDGE_COMMANDS[name].roles.includes(me.role),
    async run(name, input, options) {
      const command = bridge.commands[name] as BridgeCommand<typeof name>;
      const result = await command(input, options);
      if (!result.ok && isSessionLost(result.error)) onSessionLost(result.error);
      return result;
    },
  };
}

export const isSessionLost = (e: BridgeError) => e.code === 'session_expired' || e.code === 'session_invalid' || e.code === 'session_required';

/** A read command's answer, reloaded when its input changes. */
export function useCommand<N extends BackOfficeCommandName>(name: N, input: CommandInput<N>) {
  const { run } = useSession();
  const key = JSON.stringify(input);
  const [state, setState] = useState<{ loading: boolean; data?: CommandOutput<N>; error?: BridgeError }>({ loading: true });
  const [generation, setGeneration] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the input is compared by its JSON (key)
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    run(name, JSON.parse(key) as CommandInput<N>).then((r) => {
      if (live) setState(r.ok ? { loading: false, data: r.data } : { loading: false, error: r.error });
    });
    return () => {
      live = false;
    };
  }, [name, key, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload };
}

/**
 * Errors in words a finance officer understands (common:errors, in the chosen language); the
 * stable code stays visible beside them. Codes without words of their own show core's message.
 */
export function describeError(e: BridgeError): string {
  const key = `errors.${e.code}`;
  const words = i18n.exists(key, { ns: 'common' }) ? String(i18n.t(key as never, { ns: 'common' })) : undefined;
  const issues = (e.details?.issues as Array<{ path?: string; message?: string }> | undefined)?.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  if (e.code === 'validation_failed' && issues?.length) return `${words} ${issues.join('; ')}`;
  return words ?? e.message;
}
