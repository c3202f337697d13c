/**
 * The bundled server (server/main.ts, bundled to dist/server/main.js) as a child of the desktop
 * shell: started on the shell's database, watched, and stopped cleanly on quit — SIGTERM (the
 * server closes its listener and its database), then a forced kill if it has not exited within
 * the timeout. Generic over the child (`ChildHandle`), so the supervision is tested with plain
 * Node processes (test/electron/server-process.test.ts); main.ts adapts Electron's
 * utilityProcess to it.
 */

export interface ChildHandle {
  pid: number | undefined;
  /** Asks the child to stop (SIGTERM on POSIX). */
  terminate(): void;
  /** Stops it at once (SIGKILL). */
  forceKill(): void;
  onExit(listener: (code: number | null) => void): void;
  /** Each line the child writes (stdout and stderr). */
  onLine(listener: (line: string) => void): void;
}

export type ServerState = { state: 'off' | 'starting' | 'running' | 'stopped' | 'failed'; url: string | null; detail: string | null };

export interface ServerSupervisorOptions {
  spawn: () => ChildHandle;
  /** How long to wait after SIGTERM before killing (default 5 s). */
  stopTimeoutMs?: number;
  onState?: (state: ServerState) => void;
  onLine?: (line: string) => void;
}

/** What server/main.ts prints once it listens: "BuffMoney server listening on http://…". */
const LISTENING = /listening on (https?:\/\/\S+)/;

export class ServerSupervisor {
  private child: ChildHandle | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  private stopping = false;
  private current: ServerState = { state: 'off', url: null, detail: null };
  private readonly lastLines: string[] = [];

  constructor(private readonly options: ServerSupervisorOptions) {}

  get state(): ServerState {
    // A failed server's last words may arrive after its exit event: read them as of now.
    if (this.current.state === 'failed' && this.failedCode !== undefined) return { ...this.current, detail: this.failureDetail(this.failedCode) };
    return this.current;
  }

  private failedCode: number | null | undefined;

  private failureDetail(code: number | null): string {
    return `exited with code ${code ?? 'unknown'}${this.lastLines.length ? `: ${this.lastLines.join(' | ')}` : ''}`;
  }

  start(): void {
    if (this.child) return;
    this.stopping = false;
    this.failedCode = undefined;
    this.lastLines.length = 0;
    this.set({ state: 'starting', url: null, detail: null });
    const child = this.options.spawn();
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.onExit((code) => {
        this.child = null;
        if (this.stopping) this.set({ state: 'stopped', url: null, detail: null });
        // An exit nobody asked for: keep its last words for the Settings screen.
        else {
          this.failedCode = code;
          this.set({ state: 'failed', url: null, detail: this.failureDetail(code) });
        }
        resolve(code);
      });
    });
    child.onLine((line) => {
      this.lastLines.push(line);
      if (this.lastLines.length > 5) this.lastLines.shift();
      this.options.onLine?.(line);
      const m = LISTENING.exec(line);
      if (m && this.current.state === 'starting') this.set({ state: 'running', url: m[1], detail: null });
    });
  }

  /** SIGTERM, wait up to the timeout, then kill. Resolves once the child has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    child.terminate();
    const timeout = this.options.stopTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeout);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      child.forceKill();
      await this.exited;
    }
  }

  private set(state: ServerState): void {
    this.current = state;
    this.options.onState?.(state);
  }
}
