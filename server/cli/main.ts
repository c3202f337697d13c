import { runCli } from './run.js';

// The process entry of `buffmoney` (bin/buffmoney.js loads it through tsx).
const code = await runCli(process.argv.slice(2), process.env, {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});
process.exitCode = code;
