import type { Messages } from '../types';
import type en from '../en/settings';

/** Simplified Chinese for the "settings" namespace: the same keys as en/settings.ts (the typecheck insists). */
export default {
  title: '设置',
  language: {
    heading: '语言',
  },
  browser: {
    heading: '关于此后台',
    build: '这是后台的浏览器版本，由 npm start 在本机提供（仅限回环地址 127.0.0.1）。',
    database: '其数据库和配套服务器在启动时设定：BUFFMONEY_DB 和 PORT（见 README）。桌面应用可在此页面修改这些设置。',
  },
  desktop: {
    version: 'BuffMoney {{version}}',
    settingsProblem: '无法使用设置文件：{{problem}}',
    databaseHeading: '数据库',
    databaseInUse: '当前使用',
    databaseNone: '无',
    databaseFromEnvironment: '本次运行的数据库由 BUFFMONEY_DB 或 BUFFMONEY_DATA_DIR 指定（npm start 会设置）：下方设置仅在未设置这些变量启动应用时生效。',
    backupMade: '本次启动迁移前已备份',
    kindDefault: '本机的应用数据文件夹（默认）',
    kindFile: '我选择的数据库文件',
    kindPostgres: 'PostgreSQL 服务器（postgres:// URL）',
    postgresLater:
      '使用同一 PostgreSQL 数据库的每台电脑都需要相同的密钥文件（secrets.json）放在其应用数据文件夹中：请从第一台电脑复制。若启动时无法连接服务器，应用会说明原因并建议改用默认数据库。',
    filePath: '数据库文件',
    choose: '选择…',
    postgresUrl: 'PostgreSQL URL',
    serverHeading: '配套服务器',
    serverExplain: '公共 API（用量事件、Webhook）与应用一同运行，使用同一数据库，仅限本机访问。',
    serverEnabled: '应用启动时运行服务器',
    serverPort: '端口',
    serverState: '当前',
    state: {
      off: '已关闭',
      starting: '正在启动…',
      running: '运行中：{{url}}',
      stopped: '已停止',
      failed: '失败：{{detail}}',
    },
    save: '保存设置',
    saving: '正在保存…',
    saved: '设置已保存。',
    restartNeeded: '请重启 BuffMoney 以应用已保存的设置。',
    restart: '立即重启',
    adminOnly: '仅管理员可以修改这些设置。',
    settingsFile: '设置文件',
  },
} satisfies Messages<typeof en>;
