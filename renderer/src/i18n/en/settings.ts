/** English strings of the "settings" namespace. The source of truth: zh/settings.ts must have exactly these keys. */
export default {
  title: 'Settings',
  language: {
    heading: 'Language',
  },
  browser: {
    heading: 'This back office',
    build: 'This is the browser build of the back office, served by npm start on this computer only (loopback, 127.0.0.1).',
    database: 'Its database and the companion server are set where it was started: BUFFMONEY_DB and PORT (see the README). The desktop app has these settings on this screen.',
  },
  desktop: {
    version: 'BuffMoney {{version}}',
    settingsProblem: 'The settings file could not be used: {{problem}}',
    databaseHeading: 'Database',
    databaseInUse: 'In use now',
    databaseNone: 'none',
    databaseFromEnvironment:
      'This run’s database was chosen by BUFFMONEY_DB or BUFFMONEY_DATA_DIR (npm start sets it): the setting below applies when the app is started without them.',
    backupMade: 'Backed up before this start’s migrations',
    kindDefault: 'This computer’s app-data folder (default)',
    kindFile: 'A database file I choose',
    kindPostgres: 'A PostgreSQL server (postgres:// URL)',
    postgresLater:
      'Every computer on this PostgreSQL database needs the same secrets file (secrets.json) in its app-data folder: copy it from the first one. If the server cannot be reached at start, the app says why and offers the default database.',
    filePath: 'Database file',
    choose: 'Choose…',
    postgresUrl: 'PostgreSQL URL',
    serverHeading: 'Companion server',
    serverExplain: 'The public API (usage events, webhooks) runs beside the app on the same database, on this computer only.',
    serverEnabled: 'Run the server when the app starts',
    serverPort: 'Port',
    serverState: 'Now',
    state: {
      off: 'off',
      starting: 'starting…',
      running: 'running at {{url}}',
      stopped: 'stopped',
      failed: 'failed: {{detail}}',
    },
    save: 'Save settings',
    saving: 'Saving…',
    saved: 'Settings saved.',
    restartNeeded: 'Restart BuffMoney to apply the saved settings.',
    restart: 'Restart now',
    adminOnly: 'Only an admin may change these settings.',
    settingsFile: 'Settings file',
  },
} as const;
