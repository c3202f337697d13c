import type { Messages } from '../types';
import type en from '../en/signin';

/** Simplified Chinese for the "signin" namespace: the same keys as en/signin.ts (the typecheck insists). */
export default {
  title: 'BuffMoney 后台',
  formLabel: '登录',
  intro: '员工登录：输入密码和身份验证器应用中的验证码。',
  email: '电子邮箱',
  password: '密码',
  otp: '两步验证码',
  submit: '登录',
  submitting: '正在登录…',
  firstTime: '首次登录？设置两步验证',
  backToSignIn: '返回登录',
  enrol: {
    formLabel: '设置两步验证',
    heading: '设置两步验证',
    intro: '首次登录：请输入您收到的电子邮箱和密码，随后您将获得一个用于身份验证器应用的新密钥。',
    submit: '设置两步验证',
    submitting: '正在验证…',
    scan: '请用身份验证器应用（Google Authenticator、1Password、Microsoft Authenticator 等）扫描此二维码。',
    qrAlt: '身份验证器应用的二维码',
    manual: '或在应用中手动输入此密钥：',
    account: '账户：{{email}}',
    confirm: '然后输入应用显示的六位验证码以完成登录。',
    oneTime: '此密钥仅显示这一次，它将取代创建账户时提供给您的任何密钥。',
  },
} satisfies Messages<typeof en>;
