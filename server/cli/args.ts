/**
 * `buffmoney <command> [--flag value | --flag=value | --flag]… [--json]`. A repeated flag becomes
 * a list; a flag with no value is `true`. Values stay strings: each command's zod schema turns
 * them into numbers where it wants numbers.
 */
export interface ParsedArgs {
  command: string | undefined;
  flags: Record<string, string | true | Array<string | true>>;
  /** Arguments after the command name; only commands that declare `positional` take them. */
  positionals: string[];
}

/** Positional arguments become the command's declared input keys, in order (flags still work). */
export function positionalInput(args: ParsedArgs, keys: readonly string[] | undefined): Record<string, string> {
  const extra = args.positionals.slice(keys?.length ?? 0);
  if (extra.length > 0) throw new UsageError(`Unexpected argument ${JSON.stringify(extra[0])}; values go after a --flag`);
  const out: Record<string, string> = {};
  args.positionals.forEach((value, i) => {
    const key = keys![i];
    if (args.flags[key] !== undefined) throw new UsageError(`${key} given both as an argument and as --${key}`);
    out[key] = value;
  });
  return out;
}

export class UsageError extends Error {}

/** Flags that never take a value (so `--json kyb:list` keeps kyb:list as the command). */
const BOOLEAN_FLAGS = new Set(['json', 'help', 'wait-fresh']);

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags: ParsedArgs['flags'] = {};
  const add = (name: string, value: string | true) => {
    if (!/^[a-z][a-z0-9-]*$/i.test(name)) throw new UsageError(`Bad flag --${name}`);
    const key = name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    const prev = flags[key];
    flags[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  };
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (token.startsWith('--')) {
      const body = token.slice(2);
      const eq = body.indexOf('=');
      if (eq >= 0) add(body.slice(0, eq), body.slice(eq + 1));
      else if (!BOOLEAN_FLAGS.has(body) && i + 1 < argv.length && !argv[i + 1].startsWith('--')) add(body, argv[++i]);
      else add(body, true);
    } else if (token === '-h') {
      add('help', true);
    } else {
      positionals.push(token);
    }
  }
  return { command: positionals[0], flags, positionals: positionals.slice(1) };
}

/** One value of a flag that must be given once, as text. */
export function single(flags: ParsedArgs['flags'], name: string): string | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw new UsageError(`--${name} given more than once`);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}
