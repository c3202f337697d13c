import type { CoreContext } from '../context/index.js';
import { backOfficeCommands } from './commands/index.js';
import { type CommandRequest, type CommandResult, CommandRegistry, type ExecuteOptions } from './registry.js';

/** The back office: one registry of commands that every front end (CLI, IPC, tests) calls. */
export * from './registry.js';
export { backOfficeCommands } from './commands/index.js';

export const backOffice = new CommandRegistry(backOfficeCommands);

/** Runs one back-office command as the session's staff member. Never throws. */
export function executeCommand(ctx: CoreContext, req: CommandRequest, options?: ExecuteOptions): Promise<CommandResult> {
  return backOffice.execute(ctx, req, options);
}
