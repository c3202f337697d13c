/**
 * WeChat Pay API v3 cryptography, from the public specification:
 * - requests are signed `WECHATPAY2-SHA256-RSA2048` (SHA256withRSA, PKCS#1 v1.5) over
 *   `METHOD\nPATH_WITH_QUERY\nTIMESTAMP\nNONCE\nBODY\n` with the merchant's private key;
 * - responses and notifications carry `Wechatpay-{Timestamp,Nonce,Signature,Serial}` and are
 *   signed over `TIMESTAMP\nNONCE\nBODY\n` with the platform key named by the serial (a platform
 *   certificate serial, or a "WeChat Pay public key" id `PUB_KEY_ID_…`);
 * - notification resources are AEAD_AES_256_GCM encrypted with the 32-byte APIv3 key, the
 *   16-byte tag appended to the ciphertext.
 * Only `node:crypto`. The peer (peer.ts) uses the same functions from the other side.
 */
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

export const SIGNATURE_SCHEME = 'WECHATPAY2-SHA256-RSA2048';
/** WeChat Pay refuses (and asks us to refuse) anything signed more than five minutes off. */
export const TIMESTAMP_TOLERANCE_SECONDS = 300;
/** WeChat Pay sends probes with such signatures to check the merchant really verifies: never accept one. */
export const SIGNATURE_PROBE_PREFIX = 'WECHATPAY/SIGNTEST/';
const GCM_TAG_BYTES = 16;
const GCM_NONCE_BYTES = 12;

export function loadPrivateKey(pem: string | KeyObject): KeyObject {
  return typeof pem === 'string' ? createPrivateKey(pem) : pem;
}

/** Accepts a public key PEM (SPKI or PKCS#1) or a platform certificate PEM. */
export function loadPublicKey(pem: string | KeyObject): KeyObject {
  return typeof pem === 'string' ? createPublicKey(pem) : pem;
}

export function loadPublicKeys(bySerial: Record<string, string | KeyObject>): Map<string, KeyObject> {
  return new Map(Object.entries(bySerial).map(([serial, pem]) => [serial, loadPublicKey(pem)]));
}

export function requestMessage(method: string, pathWithQuery: string, timestamp: string, nonce: string, body: string): string {
  return `${method.toUpperCase()}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${body}\n`;
}

export function responseMessage(timestamp: string, nonce: string, body: string): string {
  return `${timestamp}\n${nonce}\n${body}\n`;
}

/** SHA256withRSA (PKCS#1 v1.5), base64. */
export function signMessage(message: string, privateKey: KeyObject): string {
  return sign('sha256', Buffer.from(message, 'utf8'), privateKey).toString('base64');
}

export function verifyMessage(message: string, signatureBase64: string, publicKey: KeyObject): boolean {
  // Strict base64: Buffer.from silently drops junk characters, which would let a mangled header pass.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureBase64)) return false;
  try {
    return verify('sha256', Buffer.from(message, 'utf8'), publicKey, Buffer.from(signatureBase64, 'base64'));
  } catch {
    return false;
  }
}

export interface RequestSigningInput {
  mchid: string;
  serialNo: string;
  privateKey: KeyObject;
  method: string;
  /** The path and query exactly as sent, e.g. `/v3/pay/transactions/out-trade-no/X?mchid=1`. */
  pathWithQuery: string;
  body: string;
  /** Unix seconds. */
  timestamp: number;
  nonce: string;
}

/** The `Authorization` header value for one request. */
export function authorizationHeader(input: RequestSigningInput): string {
  const timestamp = String(input.timestamp);
  const signature = signMessage(requestMessage(input.method, input.pathWithQuery, timestamp, input.nonce, input.body), input.privateKey);
  return `${SIGNATURE_SCHEME} mchid="${input.mchid}",nonce_str="${input.nonce}",signature="${signature}",timestamp="${timestamp}",serial_no="${input.serialNo}"`;
}

export interface ParsedAuthorization {
  mchid: string;
  nonce: string;
  signature: string;
  timestamp: string;
  serialNo: string;
}

/** Parses an `Authorization` header (the peer's side); undefined when it is not a well-formed v3 one. */
export function parseAuthorizationHeader(header: string | undefined): ParsedAuthorization | undefined {
  if (!header?.startsWith(`${SIGNATURE_SCHEME} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.slice(SIGNATURE_SCHEME.length + 1).split(',')) {
    const match = /^\s*([a-z_]+)="([^"]*)"\s*$/.exec(part);
    if (!match) return undefined;
    fields.set(match[1], match[2]);
  }
  const mchid = fields.get('mchid');
  const nonce = fields.get('nonce_str');
  const signature = fields.get('signature');
  const timestamp = fields.get('timestamp');
  const serialNo = fields.get('serial_no');
  if (!mchid || !nonce || !signature || !timestamp || !serialNo) return undefined;
  return { mchid, nonce, signature, timestamp, serialNo };
}

/** The `Wechatpay-*` headers that sign a response or a notification (the peer's side). */
export function wechatpaySignatureHeaders(input: { body: string; privateKey: KeyObject; serial: string; timestamp: number; nonce: string }): Record<string, string> {
  const timestamp = String(input.timestamp);
  return {
    'wechatpay-timestamp': timestamp,
    'wechatpay-nonce': input.nonce,
    'wechatpay-signature': signMessage(responseMessage(timestamp, input.nonce, input.body), input.privateKey),
    'wechatpay-serial': input.serial,
    'wechatpay-signature-type': SIGNATURE_SCHEME,
  };
}

export type SignatureFailureCode = 'signature_invalid' | 'timestamp_out_of_window' | 'signature_probe';

export class WechatSignatureError extends Error {
  constructor(
    readonly code: SignatureFailureCode,
    message: string,
  ) {
    super(message);
    this.name = 'WechatSignatureError';
  }
}

/**
 * Verifies the `Wechatpay-*` headers of a response or a notification over the raw body.
 * `headers` keys must be lower-case. Throws `WechatSignatureError`.
 */
export function verifyWechatpaySignature(headers: Record<string, string | undefined>, body: string, platformKeys: ReadonlyMap<string, KeyObject>, now: Date): void {
  const timestamp = headers['wechatpay-timestamp'];
  const nonce = headers['wechatpay-nonce'];
  const signature = headers['wechatpay-signature'];
  const serial = headers['wechatpay-serial'];
  if (!timestamp || !nonce || !signature || !serial) throw new WechatSignatureError('signature_invalid', 'Wechatpay-Timestamp, -Nonce, -Signature and -Serial are required');
  // The probe is checked first: it must be refused whatever else it carries.
  if (signature.startsWith(SIGNATURE_PROBE_PREFIX)) throw new WechatSignatureError('signature_probe', 'A WeChat Pay signature probe (WECHATPAY/SIGNTEST/) is never accepted');
  if (!/^\d{1,12}$/.test(timestamp)) throw new WechatSignatureError('signature_invalid', 'Wechatpay-Timestamp is not Unix seconds');
  const skew = Math.abs(Math.floor(now.getTime() / 1000) - Number(timestamp));
  if (skew > TIMESTAMP_TOLERANCE_SECONDS)
    throw new WechatSignatureError('timestamp_out_of_window', `Wechatpay-Timestamp is ${skew} s away from now (at most ${TIMESTAMP_TOLERANCE_SECONDS})`);
  const key = platformKeys.get(serial);
  if (!key) throw new WechatSignatureError('signature_invalid', `No platform key for Wechatpay-Serial ${serial}`);
  if (!verifyMessage(responseMessage(timestamp, nonce, body), signature, key)) throw new WechatSignatureError('signature_invalid', 'Wechatpay-Signature does not verify');
}

export interface EncryptedResource {
  algorithm?: string;
  ciphertext: string;
  nonce: string;
  associated_data?: string;
}

function aeadKey(apiV3Key: string): Buffer {
  const key = Buffer.from(apiV3Key, 'utf8');
  if (key.length !== 32) throw new RangeError('The APIv3 key must be 32 bytes');
  return key;
}

/** AEAD_AES_256_GCM decrypt of a notification `resource`. Throws when the tag does not verify. */
export function decryptResource(resource: EncryptedResource, apiV3Key: string): string {
  const key = aeadKey(apiV3Key);
  const iv = Buffer.from(resource.nonce, 'utf8');
  if (iv.length !== GCM_NONCE_BYTES) throw new Error(`resource.nonce must be ${GCM_NONCE_BYTES} bytes`);
  const sealed = Buffer.from(resource.ciphertext, 'base64');
  if (sealed.length < GCM_TAG_BYTES) throw new Error('resource.ciphertext is shorter than the GCM tag');
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_BYTES });
  decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES));
  decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - GCM_TAG_BYTES)), decipher.final()]).toString('utf8');
}

/** AEAD_AES_256_GCM encrypt (the peer's side): base64 of ciphertext ‖ 16-byte tag. */
export function encryptResource(plaintext: string, apiV3Key: string, nonce: string, associatedData: string): string {
  const iv = Buffer.from(nonce, 'utf8');
  if (iv.length !== GCM_NONCE_BYTES) throw new RangeError(`The nonce must be ${GCM_NONCE_BYTES} bytes`);
  const cipher = createCipheriv('aes-256-gcm', aeadKey(apiV3Key), iv, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  return Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]).toString('base64');
}
