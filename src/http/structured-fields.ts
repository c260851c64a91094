// The Dictionary of RFC 8941 (Structured Field Values), as far as digest fields use it:
// members `key=bare-item` (or a bare `key`, meaning true), each with optional parameters.

const KEY = /[a-z*][a-z0-9_\-.*]*/y;
// A byte sequence, a string, a number, a token or a boolean.
const BARE_ITEM = /:[A-Za-z0-9+/=]*:|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"|-?\d{1,15}(?:\.\d{1,3})?|[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*|\?[01]/y;
const OWS = /[ \t]*/y;
const SP = / */y;

/**
 * Every member of a Dictionary field in order, duplicates included (`[key, item text]`, the
 * item `?1` for a bare key); null when the field is not a well-formed Dictionary. Inner lists
 * are not supported (no digest algorithm uses them) and count as malformed.
 * @example dictionaryMembers("sha-512=:AAA=:, sha-256=:BBB=:") // [["sha-512", ":AAA=:"], ["sha-256", ":BBB=:"]]
 */
export function dictionaryMembers(field: string): [string, string][] | null {
  const members: [string, string][] = [];
  let at = skip(SP, field, 0);
  if (at === field.length) return members;
  for (;;) {
    const key = match(KEY, field, at);
    if (key === null) return null;
    at += key.length;
    let item = "?1";
    if (field[at] === "=") {
      const value = match(BARE_ITEM, field, at + 1);
      if (value === null) return null;
      item = value;
      at += 1 + value.length;
    }
    while (field[at] === ";") {
      const name = match(KEY, field, skip(SP, field, at + 1));
      if (name === null) return null;
      at = skip(SP, field, at + 1) + name.length;
      if (field[at] === "=") {
        const value = match(BARE_ITEM, field, at + 1);
        if (value === null) return null;
        at += 1 + value.length;
      }
    }
    members.push([key, item]);
    at = skip(OWS, field, at);
    if (at === field.length) return members;
    if (field[at] !== ",") return null;
    at = skip(OWS, field, at + 1);
    if (at === field.length) return null; // a trailing comma
  }
}

function match(pattern: RegExp, text: string, at: number): string | null {
  pattern.lastIndex = at;
  const m = pattern.exec(text);
  return m ? m[0] : null;
}

function skip(pattern: RegExp, text: string, at: number): number {
  return at + (match(pattern, text, at)?.length ?? 0);
}
