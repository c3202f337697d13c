import type { BackOfficeBridge, BridgeResult, SignedIn } from '../../../core/backoffice/bridge.js';
import { bridgeCommands } from '../../../core/backoffice/bridge.js';

/**
 * The browser twin of Electron's preload bridge: the same type, over `fetch` to the loopback
 * transport (server/backoffice-web). The session lives in an HttpOnly cookie this code never sees.
 */
async function post<T>(path: string, body: unknown): Promise<BridgeResult<T>> {
  try {
    const res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as BridgeResult<T>;
    if (typeof json === 'object' && json !== null && typeof json.ok === 'boolean') return json;
    return { ok: false, error: { code: 'transport_invalid', message: `Unexpected answer from the back office (HTTP ${res.status})` } };
  } catch {
    return { ok: false, error: { code: 'transport_unreachable', message: 'The back office server cannot be reached. Is it still running?' } };
  }
}

export function createBrowserBridge(base = '/backoffice'): BackOfficeBridge {
  return {
    signIn: (input) => post<SignedIn>(`${base}/sign-in`, input),
    signOut: () => post<{ ended: boolean }>(`${base}/sign-out`, {}),
    session: () => post<SignedIn>(`${base}/session`, {}),
    commands: bridgeCommands((name, input, options) => post(`${base}/rpc/${name}`, { input, ...(options.otp ? { otp: options.otp } : {}) })),
  } satisfies BackOfficeBridge;
}
