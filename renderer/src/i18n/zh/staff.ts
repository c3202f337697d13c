import type en from '../en/staff';
import type { Messages } from '../types';

/** Simplified Chinese for the "staff" namespace: the same keys as en/staff.ts (the typecheck insists). */
export default {
  title: '员工',
  table: '员工列表',
  empty: '暂无员工。',
  loading: '员工',
  roles: {
    admin: '管理员',
    finance: '财务',
    support: '客服',
  },
  statuses: {
    active: '正常',
    disabled: '已停用',
  },
  columns: {
    email: '邮箱',
    role: '角色',
    status: '状态',
    twoFactor: '两步验证',
    created: '添加时间',
    createdBy: '添加人',
    lastSignIn: '最近登录',
    actions: '',
  },
  neverSignedIn: '从未登录',
  enrolled: '已绑定',
  notEnrolled: '未绑定',
  notEnrolledHint: '首次使用验证码登录时完成绑定。',
  lockedUntil: '锁定至 {{at}}',
  bootstrap: '初始化',
  you: '本人',
  disableButton: '停用…',
  lastSignInNote: '登录记录（包括失败的登录）以 staff:login 记入审计日志。',
  add: {
    title: '添加员工',
    open: '添加员工…',
    email: '邮箱',
    role: '角色',
    password: '初始密码（可选）',
    passwordHint: '留空则自动生成，并仅显示一次。',
    review: '核对…',
    cancel: '取消',
    errors: {
      email: '请输入有效的邮箱地址。',
      password: '至少 {{min}} 个字符，或留空。',
    },
    dialogTitle: '添加 {{email}} 为{{role}}',
    consequence:
      '此操作将为 <b>{{email}}</b> 创建后台账户，角色为<b>{{role}}</b>：{{powers}} 接下来会向您显示一次其两步验证密钥；若自动生成密码，也会一并显示。此账户将以您的名义记入审计日志。',
    powers: {
      admin: '管理员可以执行所有操作，包括审核 KYB、修改费率、暂停商户以及添加或停用员工。',
      finance: '财务可查看商户、KYB、总账和审计日志，录入汇率，生成和作废账单；不能更改商户或员工。',
      support: '客服可查看商户、KYB 提交及其文件和账单；不能做任何更改。',
    },
    confirm: '添加员工',
  },
  created: {
    title: '{{email}} 的登录凭据：仅显示一次',
    qrAlt: '{{email}} 的两步验证绑定二维码',
    secret: '两步验证密钥',
    uri: 'otpauth 链接',
    password: '自动生成的密码',
    passwordChosen: '密码：您输入的密码。',
    once: '仅显示这一次，之后无法再次查看：请当面或通过安全渠道交给对方。对方用身份验证器应用扫描二维码（或手动输入密钥），首次使用其中的验证码登录即完成绑定。对方也可以改为在首次登录时自行绑定。',
    done: '我已交付',
  },
  disable: {
    title: '停用 {{email}}',
    consequence:
      '此操作将立即停用 <b>{{email}}</b>（{{role}}）：其所有会话立即结束，之后无法再登录或执行任何命令。其过往操作仍保留在审计日志中。停用后无法在此重新启用：如需恢复，请新建账户。',
    confirm: '停用员工',
    done_one: '已停用 {{email}}；结束了 {{count}} 个会话。',
    done_other: '已停用 {{email}}；结束了 {{count}} 个会话。',
  },
  added: '已添加 {{email}}，角色为{{role}}。',
} satisfies Messages<typeof en>;
