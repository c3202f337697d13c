import type { Messages } from '../types';
import type en from '../en/home';

/** Simplified Chinese for the "home" namespace: the same keys as en/home.ts (the typecheck insists). */
export default {
  title: '首页',
  environment: '数据范围',
  live: '正式环境',
  sandbox: '沙箱环境',
  loading: '概览',
  asOf: '截至 {{at}}。数据覆盖最近 12 个已结束的月份，每张账单计入其计费周期开始的月份。',
  seriesForFinance: '每月用量和开票金额仅对财务和管理员显示。',
  attention: {
    title: '待处理事项',
    kinds: {
      kyb_pending_review: {
        label: '等待审核的 KYB 申请',
        clear: '没有待审核的申请。',
        oldest: '最早提交于 {{at}}（{{days}} 天前）',
        go: '去审核',
      },
      kyb_info_requested: {
        label: 'KYB：已要求补充材料',
        clear: '没有未完成的补充请求。',
        oldest: '自 {{at}} 起等待商户回复（{{days}} 天）',
        go: '查看请求',
      },
      invoice_periods_overdue: {
        label: '未开票的计费周期',
        clear: '所有已结束的周期均已开票。',
        oldest: '最早于 {{at}} 结束：开票任务失败或未在运行',
        go: '运行开票任务',
      },
    },
    settlement: {
      label: '等待审批的付款批次',
      clear: '没有等待审批的批次。',
      oldest: '最早于 {{at}} 关闭（{{days}} 天前）',
      half: '；{{half}} 个已审批 1 次，等待第二位管理员',
      go: '核对并审批',
    },
    webhooks: {
      label: '投递失败的商户 Webhook 端点',
      clear: '所有端点均正常响应。',
      oldest: '自 {{at}} 起失败（{{days}} 天）；已停用 {{disabled}} 个',
      go: '查看失败的投递',
      list: '投递失败的 Webhook 端点',
      since: '自 {{at}} 起',
      disabled: '已停用：{{reason}}',
      reasons: { gone: '返回 410 Gone', failing: '连续失败 5 天', merchant: '商户自行停用' },
      deliveries: '投递记录 →',
    },
  },
  invoiced: {
    title: '每月开票金额',
    currency: '定价币种',
    count: '{{n}} 张账单',
    total: '共 {{n}} 张{{environment}}账单，近 12 个月（不含已作废）',
    chartLabel: '每月开票金额（{{currency}}）',
    empty: '近 12 个月还没有账单。计费周期结束并开票后会显示在这里。',
  },
  usage: {
    title: '每月用量（按已开票）',
    metric: '计量指标',
    metrics: {
      tokens_input: '输入 Token',
      tokens_output: '输出 Token',
      image_generation: '图片生成',
      agent_run: 'Agent 运行次数',
      storage_gb: '存储 GB',
    },
    total: '{{metric}}，近 12 个月',
    chartLabel: '每月用量：{{metric}}',
    empty: '还没有已开票的用量。计费周期开票后，用量会显示在这里。',
  },
} satisfies Messages<typeof en>;
