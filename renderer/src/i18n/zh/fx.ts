import type { Messages } from '../types';
import type en from '../en/fx';

/** Simplified Chinese for the "fx" namespace: the same keys as en/fx.ts (the typecheck insists). */
export default {
  title: '汇率',
  pairFilter: '货币对',
  allPairs: '全部货币对',
  table: '汇率历史',
  empty: '尚未录入任何汇率。',
  loading: '汇率',
  columns: {
    pair: '货币对',
    rate: '汇率',
    effective: '生效时间',
    source: '来源',
    enteredBy: '录入人',
    importBatch: '导入批次 {{batch}}',
    recorded: '记录时间',
  },
  add: {
    label: '录入汇率',
    from: '基准币种',
    to: '报价币种',
    rate: '汇率（1 单位基准币种可兑换的报价币种）',
    effective: '生效时间（UTC，留空为立即）',
    source: '来源',
    sourcePlaceholder: '手工录入',
    review: '核对汇率…',
    title: '录入汇率',
    consequence:
      '将记录 <b>1 {{from}} = {{rate}} {{to}}</b>，生效时间 {{effective}}，来源“{{source}}”。此后生成的账单将使用该汇率；已开具的账单保留其锁定的汇率。汇率不可修改：之后录入的汇率会取代本条。',
    now: '立即',
    confirm: '录入汇率',
    done: '已录入 {{pair}} {{rate}}，生效时间 {{effective}}。',
  },
  import: {
    label: '从 CSV 文件导入汇率',
    title: '从 CSV 导入汇率',
    format: '列：from、to、rate、effectiveAt（ISO 时间，留空为导入时刻）、source（可选）',
    file: 'CSV 文件',
    source: '未注明来源的行使用的来源',
    sourcePlaceholder: 'CSV 导入',
    review: '核对导入…',
    summary: '{{name}} 中共 {{n}} 条汇率 · 货币对 {{pairs}}',
    previewTable: 'CSV 预览',
    line: '行号',
    more: '……另有 {{n}} 行',
    dialogTitle: '导入汇率',
    consequence:
      '将导入 <b>{{n}} 条汇率</b>，涉及 <b>{{pairs}}</b>，生效时间从 {{from}} 到 {{to}}。全部成功或全部不导入：任何一行无效都不会导入，错误信息会指明行号。每条汇率自其生效时间起取代同一货币对的旧汇率；已开具的账单保留其锁定的汇率。',
    uponImport: '导入时刻',
    confirm: '导入 {{n}} 条汇率',
    progress: '导入进度',
    done: '已导入 {{n}} 条汇率，货币对 {{pairs}}（批次 {{batch}}）。',
  },
} satisfies Messages<typeof en>;
