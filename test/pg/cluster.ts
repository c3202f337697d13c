import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A private PostgreSQL cluster for the test suite: `initdb` + `pg_ctl` in a temp folder, on a
 * free loopback port, its socket in that folder, torn down by `stop()`. PostgreSQL refuses to
 * run as root, so when we are root (here and in CI) the cluster runs as the system user
 * `buffmoney-pg`, created if missing.
 *
 * Binaries: BUFFMONEY_PG_BIN, else Debian's /usr/lib/postgresql/<newest>/bin, else `pg_config --bindir`.
 */
export interface RunningCluster {
  port: number;
  /** Superuser URL of the maintenance database. */
  adminUrl: string;
  stop(): void;
}

const PG_USER = 'buffmoney-pg';

export function findPostgresBin(): string {
  const fromEnv = process.env.BUFFMONEY_PG_BIN;
  if (fromEnv) return fromEnv;
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const versions = fs
      .readdirSync(debian)
      .filter((v) => /^\d+$/.test(v) && Number(v) >= 15 && fs.existsSync(path.join(debian, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return path.join(debian, versions[0], 'bin');
  }
  const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  throw new Error('PostgreSQL 15+ binaries not found: install Debian\'s "postgresql" package or set BUFFMONEY_PG_BIN');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a PostgreSQL binary as the unprivileged cluster owner when we are root. */
function asOwner(bin: string, args: string[]): void {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', PG_USER, '--', bin, ...args]] : [bin, args];
  execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
}

function ensureOwnerUser(): { uid: number; gid: number } | null {
  if (!isRoot()) return null;
  if (spawnSync('id', ['-u', PG_USER]).status !== 0) {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', PG_USER]);
  }
  const uid = Number(execFileSync('id', ['-u', PG_USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', PG_USER], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/**
 * `settings`: extra `-c name=value` server settings, given after the test defaults so they win
 * (the ingest bench turns fsync and synchronous_commit back on: a 200 there must mean durable).
 */
export async function startCluster(settings: Record<string, string> = {}): Promise<RunningCluster> {
  const bin = findPostgresBin();
  const owner = ensureOwnerUser();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-pg-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'socket');
  fs.mkdirSync(socket);
  if (owner) {
    // mkdtemp makes a 0700 folder: hand it to the cluster owner.
    for (const p of [dir, socket]) fs.chownSync(p, owner.uid, owner.gid);
  }
  asOwner(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync']);
  const port = await freePort();
  // A throwaway cluster: durability off (fsync, full-page writes) — the tests check behaviour,
  // not crash safety. Enough connections for every test file's pools.
  const options = [
    `-p ${port}`,
    `-k ${socket}`,
    "-c listen_addresses='127.0.0.1'",
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=400',
    '-c shared_buffers=64MB',
    '-c TimeZone=UTC',
    ...Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`),
  ].join(' ');
  asOwner(path.join(bin, 'pg_ctl'), ['-D', data, '-o', options, '-l', path.join(dir, 'postgres.log'), '-w', '-t', '60', 'start']);
  let stopped = false;
  return {
    port,
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        asOwner(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
