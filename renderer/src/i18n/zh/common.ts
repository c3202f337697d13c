import type en from '../en/common';
import type { Messages } from '../types';

/** Simplified Chinese for the shell, navigation and errors: the same keys as en/common.ts (the typecheck insists). */
export default {
  brand: 'BuffMoney',
  brandSub: ' 后台',
  navLabel: '后台导航',
  nav: {
    home: '首页',
    kyb: 'KYB 审核',
    merchants: '商户',
    invoices: '账单',
    fx: '汇率',
    ledger: '总账',
    staff: '员工',
    audit: '审计日志',
    settings: '设置',
  },
  language: '语言',
  signOut: '退出登录',
  opening: '正在打开后台…',
  noScreens: '您的角色暂无可用页面。',
  loading: '加载中…',
  loadingWhat: '正在加载{{what}}…',
  cancel: '取消',
  close: '关闭',
  errorCode: '代码',
  errors: {
    otp_invalid: '两步验证码错误或已被使用。请等待下一个验证码后重试。',
    step_up_required: '此操作需要新的两步验证码。',
    invalid_credentials: '邮箱、密码或两步验证码错误。',
    staff_locked: '失败次数过多：账户已暂时锁定。',
    session_expired: '会话已结束，请重新登录。',
    session_invalid: '会话已结束，请重新登录。',
    session_required: '请先登录。',
    role_forbidden: '您的角色无权执行此操作。',
    validation_failed: '部分输入值无效。',
    transport_unreachable: '无法连接后台服务器。',
  },
} satisfies Messages<typeof en>;
