import type { BackOfficeBridge, BridgeResult, CommandOptions, Enrolment, SignedIn } from '../../../core/backoffice/bridge.js';
import { bridgeCommands } from '../../../core/backoffice/bridge.js';

/**
 * The browser twin of Electron's preload bridge: the same type, over `fetch` to the loopback
 * transport (server/backoffice-web). The session lives in an HttpOnly cookie this code never sees.
 */

const unreachable = (): BridgeResult<never> => ({
  ok: false,
  error: { code: 'transport_unreachable', message: 'The back office server cannot be reached. Is it still running?' },
});
const unexpected = (status: number): BridgeResult<never> => ({
  ok: false,
  error: { code: 'transport_invalid', message: `Unexpected answer from the back office (HTTP ${status})` },
});
const isResult = (json: unknown): json is BridgeResult<unknown> => typeof json === 'object' && json !== null && typeof (json as { ok?: unknown }).ok === 'boolean';

async function post<T>(path: string, body: unknown, onProgress?: CommandOptions['onProgress']): Promise<BridgeResult<T>> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      // Asking for a progress stream only when someone listens: every other answer stays one JSON.
      headers: { 'content-type': 'application/json', ...(onProgress ? { accept: 'application/x-ndjson, application/json' } : {}) },
      body: JSON.stringify(body),
    });
  } catch {
    return unreachable();
  }
  try {
    if (onProgress && res.body && (res.headers.get('content-type') ?? '').startsWith('application/x-ndjson'))
      return (await readProgressStream(res.body, onProgress)) ?? unexpected(res.status);
    const json: unknown = await res.json();
    return isResult(json) ? (json as BridgeResult<T>) : unexpected(res.status);
  } catch {
    // The connection dropped mid-answer: the command may still have run (check before retrying).
    return unreachable();
  }
}

/**
 * Reads `{"progress":{done,total}}` lines, calling `onProgress` for each (the server sends at
 * most ~20 a second), until the result line. Returns null if the stream ends without one.
 */
async function readProgressStream<T>(body: ReadableStream<Uint8Array>, onProgress: NonNullable<CommandOptions['onProgress']>): Promise<BridgeResult<T> | null> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffered += decoder.decode(value, { stream: true });
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
      if (!line) continue;
      const json: unknown = JSON.parse(line);
      if (isResult(json)) return json as BridgeResult<T>;
      const p = (json as { progress?: { done?: unknown; total?: unknown } }).progress;
      if (p && typeof p.done === 'number' && typeof p.total === 'number') onProgress(p.done, p.total);
    }
    if (done) {
      const rest = buffered.trim();
      if (rest) {
        const json: unknown = JSON.parse(rest);
        if (isResult(json)) return json as BridgeResult<T>;
      }
      return null;
    }
  }
}

export function createBrowserBridge(base = '/backoffice'): BackOfficeBridge {
  return {
    signIn: (input) => post<SignedIn>(`${base}/sign-in`, input),
    enrol: (input) => post<Enrolment>(`${base}/enrol`, input),
    signOut: () => post<{ ended: boolean }>(`${base}/sign-out`, {}),
    session: () => post<SignedIn>(`${base}/session`, {}),
    commands: bridgeCommands((name, input, options) => post(`${base}/rpc/${name}`, { input, ...(options.otp ? { otp: options.otp } : {}) }, options.onProgress)),
  } satisfies BackOfficeBridge;
}
