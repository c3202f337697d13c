import { type Hex, keccak256, toBytes } from 'viem';
import { canonicalJson } from '../json/index.js';

/**
 * RFC 8785 (JSON Canonicalization Scheme) for what a merchant commits on chain, and its hash.
 *
 * The serialisation is the project's one canonical JSON (core/json: the `canonicalize` library).
 * This module adds the strictness a commitment needs: the library quietly drops `undefined`
 * properties, serialises objects through `toJSON` and would write a function as nothing at all,
 * so two different inputs could hash alike. Here only the JSON data model is accepted — null,
 * booleans, finite numbers, strings, arrays and plain objects — anything else is refused with
 * the path to it.
 */

/** Input outside the JSON data model (the message names where). */
export class NotJsonError extends TypeError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'NotJsonError';
  }
}

/** Deeper nesting is refused rather than walked (a hostile body must not exhaust the stack). */
export const MAX_JSON_DEPTH = 64;

function assertJson(value: unknown, path: string, depth: number): void {
  if (depth > MAX_JSON_DEPTH) throw new NotJsonError(path, `nested deeper than ${MAX_JSON_DEPTH} levels`);
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new NotJsonError(path, `${value} is not a JSON number (only finite numbers are)`);
      return;
    case 'undefined':
      throw new NotJsonError(path, 'undefined is not a JSON value');
    case 'bigint':
      throw new NotJsonError(path, 'a BigInt is not a JSON value (send a string or a number)');
    case 'function':
    case 'symbol':
      throw new NotJsonError(path, `a ${typeof value} is not a JSON value`);
  }
  if (value === null) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      // a hole in a sparse array has no JSON form either
      if (!(i in value)) throw new NotJsonError(`${path}[${i}]`, 'a missing array element is not a JSON value');
      assertJson(value[i], `${path}[${i}]`, depth + 1);
    }
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new NotJsonError(path, `a ${proto?.constructor?.name ?? 'non-plain'} object is not a JSON value`);
  for (const key of Object.keys(value as object)) assertJson((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
}

/**
 * The RFC 8785 text of a JSON value. Throws NotJsonError for anything outside the JSON data
 * model, and the library's error for a string with a lone surrogate (no UTF-8 form).
 */
export function jcsCanonicalize(value: unknown): string {
  assertJson(value, '$', 0);
  return canonicalJson(value);
}

/** keccak256 over the UTF-8 bytes of a canonical JSON text: what `registerMerchant` commits. */
export function keccakOfCanonical(canonical: string): Hex {
  return keccak256(toBytes(canonical));
}

/** metadataHash = keccak256(utf8(JCS(metadata))), with the canonical text it was computed from. */
export function metadataCommitment(metadata: unknown): { metadataJson: string; metadataHash: Hex } {
  const metadataJson = jcsCanonicalize(metadata);
  return { metadataJson, metadataHash: keccakOfCanonical(metadataJson) };
}
