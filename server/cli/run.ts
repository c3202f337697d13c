import fs from 'node:fs';
import path from 'node:path';
import { type AnyCommand, backOffice } from '../../core/backoffice/index.js';
import { type CommandError, describeInput, isAudited, toCommandFailure } from '../../core/backoffice/registry.js';
import { type CoreContext, createContext } from '../../core/context/index.js';
import { openDatabase, poolSizeFromEnv } from '../../core/db/index.js';
import { migrateToLatest } from '../../core/db/migrate.js';
import { isDomainError } from '../../core/errors/index.js';
import { installHostPaymentChannels } from '../../core/payments/setup/install.js';
import { installHostChainConfigs } from '../../core/chain/status.js';
import { bootstrapStaff, loginStaff, logoutStaff } from '../../core/staff/index.js';
import { loadSecrets } from '../config.js';
import { type ParsedArgs, UsageError, parseArgs, positionalInput, single } from './args.js';
import { formatHuman } from './format.js';
import { totpHelper } from './totp.js';

/**
 * The `buffmoney` CLI: a thin adapter over the back-office registry, plus the few operations that
 * are not commands (bootstrap, login, logout). Exit codes: 0 ok, 1 the command failed, 2 usage.
 * With --json, stdout carries exactly one JSON document (the output, or `{ ok:false, error, message }`).
 */

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** Flags the CLI itself reads; all others become the command's input. */
const CLI_FLAGS = new Set(['json', 'session', 'otp', 'help', 'out']);

const NON_REGISTRY: Array<{ name: string; summary: string; usage: string }> = [
  { name: 'help', summary: 'This list; `buffmoney <command> --help` describes one command', usage: 'buffmoney help' },
  {
    name: 'staff:bootstrap',
    summary: 'Create the first admin (only while no staff exists); prints the TOTP secret once',
    usage: 'buffmoney staff:bootstrap --email E [--password P]',
  },
  {
    name: 'login',
    summary: 'Sign in from BUFFMONEY_STAFF_EMAIL, BUFFMONEY_STAFF_PASSWORD, BUFFMONEY_STAFF_OTP; prints a session token',
    usage: 'BUFFMONEY_STAFF_EMAIL=… BUFFMONEY_STAFF_PASSWORD=… BUFFMONEY_STAFF_OTP=123456 buffmoney login [--json]',
  },
  { name: 'logout', summary: 'End the session in BUFFMONEY_SESSION (or --session)', usage: 'buffmoney logout' },
  {
    name: 'totp',
    summary: 'Print the current TOTP code of a secret; --wait-fresh never prints the same 30 s window twice (waits ≤ 30 s)',
    usage:
      'buffmoney totp --secret BASE32 [--wait-fresh] [--json]   (or the secret in BUFFMONEY_TOTP_SECRET)\n\n' +
      'Prints the 6-digit code on stdout. A code is accepted once, and only if its window is later than the last one accepted,\n' +
      'so with --wait-fresh the helper remembers (per secret, as a hash, in $TMPDIR/buffmoney-totp-<uid>) the last window it\n' +
      'printed and, if that is the current one, waits for the next window to begin. Needs no database.',
  },
];

export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    return usage(io, argv.includes('--json'), (e as Error).message);
  }
  const json = args.flags.json === true;
  const command = args.command;

  try {
    if (!command || command === 'help') return printHelp(io, json);
    const registered = backOffice.get(command);
    const special = NON_REGISTRY.find((c) => c.name === command);
    if (!registered && !special) return usage(io, json, `Unknown command ${command}; see buffmoney help`);
    if (args.flags.help) return registered ? printCommandHelp(io, json, registered) : printSpecialHelp(io, json, special!);
    const fromPositionals = positionalInput(args, registered?.positional);

    if (command === 'totp') {
      const secret = single(args.flags, 'secret') ?? env.BUFFMONEY_TOTP_SECRET;
      if (!secret) return usage(io, json, 'totp needs --secret BASE32 (or BUFFMONEY_TOTP_SECRET)');
      const waitFresh = args.flags.waitFresh;
      if (waitFresh !== undefined && waitFresh !== true) return usage(io, json, '--wait-fresh takes no value');
      const unknown = Object.keys(args.flags).filter((k) => !['secret', 'waitFresh', 'json'].includes(k));
      if (unknown.length > 0) return usage(io, json, `totp does not take --${unknown[0]}`);
      const result = await totpHelper({
        secret,
        waitFresh: waitFresh === true,
        sleep: (ms) => {
          if (!json) io.stderr(`waiting ${Math.ceil(ms / 1000)} s for a fresh code…\n`);
          return new Promise((resolve) => setTimeout(resolve, ms));
        },
      });
      if (json) io.stdout(`${JSON.stringify(result)}\n`);
      else io.stdout(`${result.code}\n`);
      return EXIT_OK;
    }
    if (command === 'staff:bootstrap') {
      const email = single(args.flags, 'email');
      if (!email) return usage(io, json, 'staff:bootstrap needs --email');
      return await withContext(env, async (ctx) => {
        const created = await bootstrapStaff(ctx, { email, password: single(args.flags, 'password') });
        return printOk(io, json, created, credentialsNotice(created.generatedPassword !== undefined));
      });
    }
    if (command === 'login') {
      const email = env.BUFFMONEY_STAFF_EMAIL;
      const password = env.BUFFMONEY_STAFF_PASSWORD;
      const otp = single(args.flags, 'otp') ?? env.BUFFMONEY_STAFF_OTP;
      if (!email || !password || !otp) {
        return usage(io, json, 'login reads BUFFMONEY_STAFF_EMAIL, BUFFMONEY_STAFF_PASSWORD and BUFFMONEY_STAFF_OTP (a current TOTP code)');
      }
      return await withContext(env, async (ctx) => {
        const result = await loginStaff(ctx, { email, password, otp });
        return printOk(io, json, result, `Use it: export BUFFMONEY_SESSION=${result.session}`);
      });
    }
    const session = single(args.flags, 'session') ?? env.BUFFMONEY_SESSION;
    if (command === 'logout') {
      if (!session) return usage(io, json, 'No session: set BUFFMONEY_SESSION or pass --session');
      return await withContext(env, async (ctx) => printOk(io, json, await logoutStaff(ctx, session)));
    }

    const cmd = registered!;
    const input: Record<string, unknown> = { ...fromPositionals, ...Object.fromEntries(Object.entries(args.flags).filter(([k]) => !CLI_FLAGS.has(k))) };
    if (cmd.fileInput) {
      // e.g. fx:import --file rates.csv: the command takes the file's text.
      const file = single(args.flags, cmd.fileInput.flag);
      delete input[cmd.fileInput.flag];
      if (file !== undefined) {
        try {
          input[cmd.fileInput.key] = fs.readFileSync(path.resolve(file), 'utf8');
        } catch (e) {
          return usage(io, json, `Cannot read --${cmd.fileInput.flag} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      }
    }
    // A long command (an invoice run) reports progress on stderr, so stdout stays the result.
    let lastShown = 0;
    const onProgress = (done: number, total: number) => {
      const now = Date.now();
      if (done !== total && now - lastShown < 1000) return;
      lastShown = now;
      io.stderr(`${cmd.name}: ${done}/${total}\n`);
    };
    const out = single(args.flags, 'out');
    const writesFile = cmd.name === 'kyb:export-document' || cmd.name === 'settlement:export';
    if (out !== undefined && !writesFile) return usage(io, json, '--out is only for kyb:export-document and settlement:export');
    return await withContext(env, async (ctx) => {
      const result = await backOffice.execute(
        ctx,
        { session, name: cmd.name, input, otp: single(args.flags, 'otp'), onProgress },
        { onUnexpectedError: (e) => io.stderr(`${(e as Error)?.stack ?? String(e)}\n`) },
      );
      if (!result.ok) return printError(io, json, result.error);
      let data = result.data as Record<string, unknown>;
      if (writesFile) data = exportDocument(data, out);
      return printOk(io, json, data, cmd.name === 'staff:add' ? credentialsNotice('generatedPassword' in data) : undefined);
    });
  } catch (e) {
    if (e instanceof UsageError) return usage(io, json, e.message);
    if (!isDomainError(e)) io.stderr(`${(e as Error)?.stack ?? String(e)}\n`);
    return printError(io, json, toCommandFailure(e).error);
  }
}

/** The database in BUFFMONEY_DB (or DATABASE_URL), migrated, with the server's own secrets. */
async function withContext(env: NodeJS.ProcessEnv, fn: (ctx: CoreContext) => Promise<number>): Promise<number> {
  const url = env.BUFFMONEY_DB ?? env.DATABASE_URL ?? './data/buffmoney.db';
  const db = openDatabase(url, { poolSize: poolSizeFromEnv(env.BUFFMONEY_DB_POOL) });
  try {
    await migrateToLatest(db);
    // Same folder, same secrets.json as the server: TOTP seeds sealed by one open in the other.
    const file = db.capabilities.embeddedFile;
    const secrets = loadSecrets(file !== null ? path.dirname(file) : path.resolve(env.BUFFMONEY_DATA_DIR ?? './data'), env);
    const ctx = createContext({ db, secrets });
    installHostChainConfigs(ctx, env);
    // Refunds and reconciliation reach the channels from here too: live from the environment,
    // sandbox through the peers the server mounts at its public URL (README: Payment channels).
    await installHostPaymentChannels(ctx, {
      env,
      dataDir: file !== null ? path.dirname(file) : path.resolve(env.BUFFMONEY_DATA_DIR ?? './data'),
      publicUrl: env.BUFFMONEY_PUBLIC_URL ?? `http://127.0.0.1:${env.PORT ?? 8787}`,
      sandbox: env.BUFFMONEY_SANDBOX_CHANNELS !== '0',
    });
    return await fn(ctx);
  } finally {
    await db.close();
  }
}

function exportDocument(data: Record<string, unknown>, out: string | undefined): Record<string, unknown> {
  const { contentBase64, ...meta } = data as { contentBase64: string } & Record<string, unknown>;
  if (out === undefined) return data;
  const target = path.resolve(out);
  fs.writeFileSync(target, Buffer.from(contentBase64, 'base64'), { flag: 'wx', mode: 0o600 });
  return { ...meta, writtenTo: target };
}

const credentialsNotice = (generatedPassword: boolean) =>
  `Shown once: add the TOTP secret (or the otpauth URI) to an authenticator app${generatedPassword ? ' and hand over the generated password' : ''}. The first sign-in with a code completes 2FA enrolment.`;

function printOk(io: CliIo, json: boolean, data: unknown, note?: string): number {
  if (json) {
    io.stdout(`${JSON.stringify(data)}\n`);
  } else {
    const human = { ...(data as Record<string, unknown>) };
    // base64 documents are for --json and --out, not for a terminal
    if (typeof human.contentBase64 === 'string') human.contentBase64 = `(${human.contentBase64.length} base64 characters; use --out FILE)`;
    io.stdout(`${formatHuman(human)}\n`);
    if (note) io.stderr(`${note}\n`);
  }
  return EXIT_OK;
}

function printError(io: CliIo, json: boolean, error: CommandError): number {
  if (json) {
    io.stdout(
      `${JSON.stringify({ ok: false, error: error.code, message: error.message, ...(error.details ? { details: error.details } : {}), ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}) })}\n`,
    );
  } else {
    io.stderr(`error: ${error.code}: ${error.message}\n`);
  }
  return EXIT_FAILED;
}

function usage(io: CliIo, json: boolean, message: string): number {
  if (json) io.stdout(`${JSON.stringify({ ok: false, error: 'usage', message })}\n`);
  else io.stderr(`usage: ${message}\n`);
  return EXIT_USAGE;
}

function printHelp(io: CliIo, json: boolean): number {
  const commands = backOffice.list().map((c) => ({ name: c.name, roles: c.roles.join(','), stepUp: c.stepUp, summary: c.summary }));
  if (json) {
    io.stdout(`${JSON.stringify({ commands: [...NON_REGISTRY.map((c) => ({ name: c.name, roles: '-', stepUp: false, summary: c.summary })), ...commands] })}\n`);
    return EXIT_OK;
  }
  const width = Math.max(...commands.map((c) => c.name.length), ...NON_REGISTRY.map((c) => c.name.length));
  const rolesWidth = Math.max(...commands.map((c) => c.roles.length));
  const lines = [
    'buffmoney <command> [--flag value …] [--json]',
    '',
    'Database: BUFFMONEY_DB (SQLite file, default ./data/buffmoney.db, or postgres://user:password@host:port/database with BUFFMONEY_DATA_DIR for secrets). Session: BUFFMONEY_SESSION or --session.',
    'Commands marked * need step-up: --otp <a current TOTP code not used before>.',
    '',
    ...NON_REGISTRY.map((c) => `  ${c.name.padEnd(width)}  ${''.padEnd(rolesWidth)}   ${c.summary}`),
    '',
    `  ${'command'.padEnd(width)}  ${'roles'.padEnd(rolesWidth)}   summary`,
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.roles.padEnd(rolesWidth)} ${c.stepUp ? '*' : ' '} ${c.summary}`),
  ];
  io.stdout(`${lines.join('\n')}\n`);
  return EXIT_OK;
}

function printCommandHelp(io: CliIo, json: boolean, cmd: AnyCommand): number {
  const fields = describeInput(cmd);
  if (json) {
    io.stdout(`${JSON.stringify({ name: cmd.name, summary: cmd.summary, roles: cmd.roles, stepUp: cmd.stepUp, mutates: cmd.mutates, input: fields })}\n`);
    return EXIT_OK;
  }
  const flagText = (f: (typeof fields)[number]) => `--${f.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} <${f.type}>`;
  const width = Math.max(0, ...fields.map((f) => flagText(f).length));
  const lines = [
    `buffmoney ${cmd.name}${fields.map((f) => (f.required ? ` ${flagText(f)}` : ` [${flagText(f)}]`)).join('')}${cmd.stepUp ? ' --otp <code>' : ''} [--json]`,
    ...(cmd.positional ? [`buffmoney ${cmd.name} ${cmd.positional.map((k) => k.toUpperCase()).join(' ')} [--flag …]   (the same, as arguments)`] : []),
    ...(cmd.fileInput ? [`  --${cmd.fileInput.flag} <file> gives ${cmd.fileInput.key} as the file's text`] : []),
    '',
    cmd.summary,
    '',
    `roles: ${cmd.roles.join(', ')}`,
    `step-up: ${cmd.stepUp ? 'yes (--otp, a current TOTP code not used before)' : 'no'}`,
    `audited: ${isAudited(cmd) ? 'yes' : 'no (read-only)'}`,
    '',
    'input:',
    ...(fields.length === 0
      ? ['  (none)']
      : fields.map((f) => `  ${flagText(f).padEnd(width)}  ${f.required ? 'required' : 'optional'}${f.description ? `  ${f.description}` : ''}`)),
    ...(cmd.name === 'kyb:export-document' ? ['  --out <file>  optional  write the document to this file (not overwritten if it exists)'] : []),
  ];
  io.stdout(`${lines.join('\n')}\n`);
  return EXIT_OK;
}

function printSpecialHelp(io: CliIo, json: boolean, c: (typeof NON_REGISTRY)[number]): number {
  if (json) io.stdout(`${JSON.stringify(c)}\n`);
  else io.stdout(`${c.usage}\n\n${c.summary}\n`);
  return EXIT_OK;
}
