import { XMLBuilder } from 'fast-xml-parser';
import Papa from 'papaparse';
import { currencyExponent } from '../money/currencies.js';

/**
 * The payout files a settlement batch produces at its second approval (README.md, "Payout
 * files"). Pure functions of the batch's frozen lines: the same batch always gives the same bytes.
 */

/** A bank destination as the merchant entered it (core/merchants BankAccountInput). */
export interface BankDestination {
  kind: 'bank';
  holderName: string;
  accountNumber?: string;
  iban?: string;
  bankName: string;
  swiftBic?: string;
  cnapsCode?: string;
  currency: string;
}

/** An on-chain receiver (the V2 registration's receiver, else the `arbitrum` receiving address). */
export interface TokenDestination {
  kind: 'token';
  chain: 'arbitrum';
  receiver: string;
}

export type PayoutDestination = BankDestination | TokenDestination;

export interface PayoutLine {
  lineNo: number;
  reference: string;
  merchantName: string;
  netMinor: string;
  destination: PayoutDestination;
}

export interface PayoutBatch {
  id: string;
  month: string;
  currency: string;
  /** When the files were produced (the second approval): pain.001's CreDtTm and execution date. */
  producedAt: string;
  totalMinor: string;
  lines: PayoutLine[];
}

export interface PayoutFile {
  format: 'bank-csv' | 'bank-summary' | 'token-csv' | 'pain001';
  fileName: string;
  content: string;
}

/** The stablecoins paid out on chain, and their token contracts on Arbitrum One (chain 42161). */
export const TOKEN_CONTRACTS: Readonly<Record<string, string>> = {
  USDC: '0xaf88d065e77c8cC2239327C5EDb3A432268e5831',
  USDT: '0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9',
};

export const isTokenCurrency = (currency: string): boolean => Object.hasOwn(TOKEN_CONTRACTS, currency);

/** Minor units as an exact decimal with the currency's places: 123456 USD → "1234.56"; JPY 500 → "500". */
export function decimalAmount(minor: string | bigint, currency: string): string {
  const places = currencyExponent(currency);
  const v = BigInt(minor);
  if (v < 0n) throw new Error('payout amounts are never negative');
  const digits = v.toString().padStart(places + 1, '0');
  return places === 0 ? digits : `${digits.slice(0, -places)}.${digits.slice(-places)}`;
}

/**
 * OWASP CSV injection: a cell a spreadsheet could read as a formula (leading =, +, -, @, tab or
 * carriage return) is prefixed with a single quote. Everything else, CJK included, is kept as is.
 */
export function neutraliseCell(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** RFC 4180: CRLF line ends, quotes only where a field needs them, quotes doubled. */
function csv(header: string[], rows: string[][]): string {
  return `${Papa.unparse({ fields: header, data: rows }, { newline: '\r\n', quotes: false, escapeFormulae: false, header: true })}\r\n`;
}

const fileStem = (b: PayoutBatch) => `buffmoney-payouts-${b.month}-${b.currency}-${b.id}`;

export function bankCsv(b: PayoutBatch): PayoutFile {
  const rows = b.lines.map((l) => {
    const d = l.destination;
    if (d.kind !== 'bank') throw new Error(`line ${l.lineNo} has no bank destination`);
    return [
      l.reference,
      d.holderName,
      (d.iban ?? d.accountNumber ?? '').replace(/\s+/g, ''),
      d.bankName,
      d.swiftBic ?? d.cnapsCode ?? '',
      decimalAmount(l.netMinor, b.currency),
      b.currency,
      `BuffMoney settlement ${b.month} ${l.merchantName}`,
    ].map((cell, i) => (i === 5 ? cell : neutraliseCell(cell)));
  });
  const header = ['reference', 'beneficiary_name', 'account_number', 'bank_name', 'bank_code', 'amount', 'currency', 'remark'];
  return { format: 'bank-csv', fileName: `${fileStem(b)}.csv`, content: csv(header, rows) };
}

/** The companion of the bank CSV: the control totals a bank (or a person) checks the file against. */
export function bankSummary(b: PayoutBatch): PayoutFile {
  const header = ['batch', 'month', 'currency', 'line_count', 'total'];
  const rows = [[b.id, b.month, b.currency, String(b.lines.length), decimalAmount(b.totalMinor, b.currency)]];
  return { format: 'bank-summary', fileName: `${fileStem(b)}.summary.csv`, content: csv(header, rows) };
}

/**
 * The Safe "CSV Airdrop" batch-transfer format (the platform never holds keys: the multisig's
 * owners load this file and sign): token type, token contract, EIP-55 receiver, amount as an
 * exact decimal with the token's 6 places.
 */
export async function tokenCsv(b: PayoutBatch): Promise<PayoutFile> {
  // viem is loaded only here: the back-office CLI loads this module for every command.
  const { getAddress } = await import('viem/utils');
  const token = TOKEN_CONTRACTS[b.currency];
  if (!token) throw new Error(`${b.currency} is not paid out on chain`);
  const rows = b.lines.map((l) => {
    const d = l.destination;
    if (d.kind !== 'token') throw new Error(`line ${l.lineNo} has no on-chain receiver`);
    return ['erc20', getAddress(token), getAddress(d.receiver), decimalAmount(l.netMinor, b.currency), l.reference];
  });
  return { format: 'token-csv', fileName: `${fileStem(b)}.token.csv`, content: csv(['token_type', 'token_address', 'receiver', 'amount', 'id'], rows) };
}

export const PAIN001_NAMESPACE = 'urn:iso:std:iso:20022:tech:xsd:pain.001.001.09';

/** ISO 20022 pain.001.001.09 (customer credit transfer initiation), one PmtInf for the batch. */
export function pain001(b: PayoutBatch): PayoutFile {
  const ctrlSum = decimalAmount(b.totalMinor, b.currency);
  const txs = b.lines.map((l) => {
    const d = l.destination;
    if (d.kind !== 'bank') throw new Error(`line ${l.lineNo} has no bank destination`);
    const agent = d.swiftBic ? { FinInstnId: { BICFI: d.swiftBic } } : { FinInstnId: { ClrSysMmbId: { MmbId: d.cnapsCode ?? '' }, Nm: d.bankName } };
    const account = d.iban ? { IBAN: d.iban.replace(/\s+/g, '').toUpperCase() } : { Othr: { Id: (d.accountNumber ?? '').replace(/\s+/g, '') } };
    return {
      PmtId: { EndToEndId: l.reference },
      Amt: { InstdAmt: { '@_Ccy': b.currency, '#text': decimalAmount(l.netMinor, b.currency) } },
      CdtrAgt: agent,
      Cdtr: { Nm: d.holderName.slice(0, 140) },
      CdtrAcct: { Id: account },
      RmtInf: { Ustrd: `BuffMoney settlement ${b.month} ${l.reference}`.slice(0, 140) },
    };
  });
  const doc = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    Document: {
      '@_xmlns': PAIN001_NAMESPACE,
      CstmrCdtTrfInitn: {
        GrpHdr: {
          MsgId: b.id,
          CreDtTm: b.producedAt.replace(/\.\d{3}Z$/, 'Z'),
          NbOfTxs: String(b.lines.length),
          CtrlSum: ctrlSum,
          InitgPty: { Nm: 'BuffMoney' },
        },
        PmtInf: {
          PmtInfId: `${b.id}-1`,
          PmtMtd: 'TRF',
          NbOfTxs: String(b.lines.length),
          CtrlSum: ctrlSum,
          ReqdExctnDt: { Dt: b.producedAt.slice(0, 10) },
          Dbtr: { Nm: 'BuffMoney' },
          // The platform's own paying account is configured at the bank's upload; NOTPROVIDED here.
          DbtrAcct: { Id: { Othr: { Id: 'NOTPROVIDED' } } },
          DbtrAgt: { FinInstnId: { Othr: { Id: 'NOTPROVIDED' } } },
          CdtTrfTxInf: txs,
        },
      },
    },
  };
  const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, indentBy: '  ', suppressEmptyNode: true, processEntities: true });
  return { format: 'pain001', fileName: `${fileStem(b)}.pain001.xml`, content: builder.build(doc) };
}

/** Every file a batch of the currency produces. */
export async function payoutFiles(b: PayoutBatch): Promise<PayoutFile[]> {
  if (isTokenCurrency(b.currency)) return [await tokenCsv(b)];
  return [bankCsv(b), bankSummary(b), pain001(b)];
}
