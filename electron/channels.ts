/** IPC channel names, shared by main and preload: one per registry command, plus the session's. */
export const BRIDGE_CHANNEL_PREFIX = 'backoffice:command:';
export const SIGN_IN_CHANNEL = 'backoffice:sign-in';
export const ENROL_CHANNEL = 'backoffice:enrol';
export const SIGN_OUT_CHANNEL = 'backoffice:sign-out';
export const SESSION_CHANNEL = 'backoffice:session';
/**
 * Main → renderer only: `{ id, done, total }` for the command call that sent `progressId: id`.
 * The callback stays in the preload; only the id crosses.
 */
export const PROGRESS_CHANNEL = 'backoffice:progress';

/** The shell's own settings (database location, bundled server), for the Settings screen. */
export const SHELL_STATUS_CHANNEL = 'shell:status';
export const SHELL_SAVE_SETTINGS_CHANNEL = 'shell:save-settings';
export const SHELL_CHOOSE_DATABASE_CHANNEL = 'shell:choose-database';
export const SHELL_RELAUNCH_CHANNEL = 'shell:relaunch';
