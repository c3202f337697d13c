import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { type ChildHandle, type ServerState, ServerSupervisor } from '../../electron/server-process.js';

/**
 * The shell's supervision of the bundled server, with plain Node children standing in for
 * Electron's utilityProcess: they print what server/main.ts prints, and either stop on SIGTERM
 * or ignore it.
 */

function nodeChild(script: string): ChildHandle {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    pid: child.pid,
    terminate: () => child.kill('SIGTERM'),
    forceKill: () => child.kill('SIGKILL'),
    onExit: (listener) => child.once('exit', (code) => listener(code)),
    onLine: (listener) => {
      for (const stream of [child.stdout, child.stderr]) stream.setEncoding('utf8').on('data', (chunk: string) => chunk.split('\n').filter(Boolean).forEach(listener));
    },
  };
}

// Printed last, once the SIGTERM handler is in place, as the real server does.
const LISTENS = "console.log('BuffMoney server listening on http://127.0.0.1:8799 (database /tmp/x.db)');";
const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
};

describe('the bundled server as a supervised child process', () => {
  it('is running once it says it listens, and stops cleanly on SIGTERM', async () => {
    const states: ServerState['state'][] = [];
    const s = new ServerSupervisor({
      spawn: () => nodeChild(`process.on('SIGTERM', () => { console.log('SIGTERM received, shutting down'); process.exit(0); }); setInterval(() => {}, 1000); ${LISTENS}`),
      onState: (st) => states.push(st.state),
    });
    s.start();
    await until(() => s.state.state === 'running');
    expect(s.state).toEqual({ state: 'running', url: 'http://127.0.0.1:8799', detail: null });
    const started = Date.now();
    await s.stop();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(states).toEqual(['starting', 'running', 'stopped']);
  });

  it('kills a server that ignores SIGTERM once the timeout has passed', async () => {
    const s = new ServerSupervisor({
      spawn: () => nodeChild(`process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); ${LISTENS}`),
      stopTimeoutMs: 300,
    });
    s.start();
    await until(() => s.state.state === 'running');
    const started = Date.now();
    await s.stop();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(s.state.state).toBe('stopped');
  });

  it('reports a server that dies on its own as failed, with its last words', async () => {
    const s = new ServerSupervisor({ spawn: () => nodeChild(`console.error('Error: listen EADDRINUSE: address already in use 127.0.0.1:8787'); process.exit(1);`) });
    s.start();
    await until(() => s.state.state === 'failed' && (s.state.detail ?? '').includes('EADDRINUSE'));
    expect(s.state.state).toBe('failed');
    expect(s.state.detail).toContain('exited with code 1');
    expect(s.state.detail).toContain('EADDRINUSE');
    await s.stop(); // nothing left to stop
  });
});
