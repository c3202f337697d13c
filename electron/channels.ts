/** IPC channel names, shared by main and preload: one per registry command, plus the session's three. */
export const BRIDGE_CHANNEL_PREFIX = 'backoffice:command:';
export const SIGN_IN_CHANNEL = 'backoffice:sign-in';
export const SIGN_OUT_CHANNEL = 'backoffice:sign-out';
export const SESSION_CHANNEL = 'backoffice:session';
