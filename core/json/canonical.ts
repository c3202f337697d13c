import canonicalize from 'canonicalize';

/**
 * The one canonical JSON of the project: RFC 8785 (JSON Canonicalization Scheme), by the
 * `canonicalize` library. Object keys are sorted by UTF-16 code units at every depth, numbers
 * are written as ECMAScript writes them, strings as JSON.stringify does; properties whose value
 * is `undefined` are dropped, as JSON.stringify drops them. One value, one text — so a hash over
 * it is stable across processes, engines and languages.
 *
 * Unlike a JSON.stringify of a re-built object, integer-like keys ("10", "2") are not reordered
 * by JavaScript's own property order: RFC 8785 puts "10" before "2".
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('canonicalJson: the value has no JSON form (undefined, a function or a symbol)');
  return text;
}
