/**
 * The raw text of each top-level member of Alipay's answer `{"x_response":{…},"sign":"…"}`.
 *
 * Alipay signs the exact text of the `x_response` member, so the verifier must check exactly the
 * text that is then parsed. alipay-sdk finds the signed text by string search but takes the data
 * from JSON.parse, which keeps the LAST of two equal keys: `{"x_response":<genuine>,"sign":"…",
 * "x_response":<forged>}` passes its check and yields the forged member (pinned in
 * answer.test.ts). Here every member is located by a real scan, and a repeated key is refused.
 */
export function topLevelMembers(raw: string): Map<string, string> {
  const members = new Map<string, string>();
  let i = skipSpace(raw, 0);
  if (raw[i] !== '{') throw new SyntaxError('the answer is not a JSON object');
  i = skipSpace(raw, i + 1);
  if (raw[i] === '}') return finish(raw, i, members);
  for (;;) {
    if (raw[i] !== '"') throw new SyntaxError(`expected a member name at ${i}`);
    const keyEnd = stringEnd(raw, i);
    const key: unknown = JSON.parse(raw.slice(i, keyEnd));
    if (typeof key !== 'string') throw new SyntaxError('bad member name');
    i = skipSpace(raw, keyEnd);
    if (raw[i] !== ':') throw new SyntaxError(`expected ':' at ${i}`);
    const valueStart = skipSpace(raw, i + 1);
    const valueEnd = valueEndAt(raw, valueStart);
    const valueText = raw.slice(valueStart, valueEnd);
    JSON.parse(valueText); // each member must be valid JSON on its own
    if (members.has(key)) throw new SyntaxError(`member ${key} appears twice`);
    members.set(key, valueText);
    i = skipSpace(raw, valueEnd);
    if (raw[i] === ',') {
      i = skipSpace(raw, i + 1);
      continue;
    }
    if (raw[i] === '}') return finish(raw, i, members);
    throw new SyntaxError(`expected ',' or '}' at ${i}`);
  }
}

function finish(raw: string, closeAt: number, members: Map<string, string>): Map<string, string> {
  if (skipSpace(raw, closeAt + 1) !== raw.length) throw new SyntaxError('text after the answer object');
  return members;
}

function skipSpace(raw: string, from: number): number {
  let i = from;
  while (i < raw.length && (raw[i] === ' ' || raw[i] === '\n' || raw[i] === '\r' || raw[i] === '\t')) i++;
  return i;
}

/** `raw[start]` is an opening quote; returns the index just past the closing one. */
function stringEnd(raw: string, start: number): number {
  for (let i = start + 1; i < raw.length; i++) {
    if (raw[i] === '\\') i++;
    else if (raw[i] === '"') return i + 1;
  }
  throw new SyntaxError('unterminated string');
}

/** The index just past the JSON value starting at `start`. */
function valueEndAt(raw: string, start: number): number {
  const first = raw[start];
  if (first === '"') return stringEnd(raw, start);
  if (first === '{' || first === '[') {
    let depth = 0;
    for (let i = start; i < raw.length; i++) {
      const c = raw[i];
      if (c === '"') i = stringEnd(raw, i) - 1;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    throw new SyntaxError('unterminated value');
  }
  // A number, true, false or null: runs to the next delimiter.
  let i = start;
  while (i < raw.length && !',}] \n\r\t'.includes(raw[i])) i++;
  if (i === start) throw new SyntaxError(`expected a value at ${start}`);
  return i;
}
