/**
 * Tokens of Thrift IDL, after Apache's `thriftl.ll`: identifiers may contain dots
 * (`shared.Item`, `Numberz.ONE`), literals take single or double quotes, integers are decimal or
 * `0x` hex, and the three comment kinds (`#`, `//`, `/* *\/`) are skipped, except that a
 * `/** ... *\/` doc comment is kept on the token after it.
 */
import type { Position } from './ast.js';
import { IdlParseError } from './idl-errors.js';

/** Token kinds. `symbol` is one of `{ } ( ) [ ] < > , ; : = * &`. */
export type TokenKind = 'identifier' | 'literal' | 'int' | 'double' | 'symbol' | 'eof';

/** One token. */
export interface Token {
  readonly kind: TokenKind;
  /** The identifier or symbol; the literal's decoded text; the number as written. */
  readonly text: string;
  readonly loc: Position;
  /** The doc comment just before this token, if any. */
  readonly doc: string | undefined;
}

/**
 * Splits `source` into tokens, ending with one `eof` token.
 * @throws IdlParseError for an unterminated comment or literal, a bad escape or a stray character
 */
export function tokenize(source: string, file: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  let doc: string | undefined;
  const here = (): Position => ({ line, column: pos - lineStart + 1, offset: pos });
  const fail = (loc: Position, problem: string): never => {
    throw new IdlParseError(file, loc, problem);
  };
  /** Advances over `text`, keeping line and column right. */
  const consume = (end: number) => {
    for (let i = pos; i < end; i++) {
      if (source.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    pos = end;
  };
  const push = (kind: TokenKind, text: string, loc: Position) => {
    tokens.push({ kind, text, loc, doc });
    doc = undefined;
  };

  while (pos < source.length) {
    const c = source[pos]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      consume(pos + 1);
      continue;
    }
    const start = here();
    if (c === '#' || (c === '/' && source[pos + 1] === '/')) {
      const nl = source.indexOf('\n', pos);
      consume(nl < 0 ? source.length : nl);
      continue;
    }
    if (c === '/' && source[pos + 1] === '*') {
      const close = source.indexOf('*/', pos + 2);
      if (close < 0) fail(start, 'unterminated /* comment');
      const isDoc = source[pos + 2] === '*' && close > pos + 2;
      if (isDoc) doc = docText(source.slice(pos + 3, close));
      consume(close + 2);
      continue;
    }
    if (c === '"' || c === "'") {
      const { text, end } = readLiteral(source, pos, file, start);
      consume(end);
      push('literal', text, start);
      continue;
    }
    const number = NUMBER.exec(source.slice(pos, pos + 400));
    if (number && (isDigit(c) || ((c === '+' || c === '-' || c === '.') && number[0].length > 1))) {
      const text = number[0];
      if (isIdentifierChar(source[pos + text.length])) fail(start, `bad number "${text}${source[pos + text.length]}"`);
      consume(pos + text.length);
      push(/^[+-]?(0x[0-9a-f]+|\d+)$/i.test(text) ? 'int' : 'double', text, start);
      continue;
    }
    if (isIdentifierStart(c)) {
      let end = pos + 1;
      while (end < source.length && (isIdentifierChar(source[end]) || isDottedPart(source, end))) end++;
      const text = source.slice(pos, end);
      consume(end);
      push('identifier', text, start);
      continue;
    }
    if ('{}()[]<>,;:=*&'.includes(c)) {
      consume(pos + 1);
      push('symbol', c, start);
      continue;
    }
    fail(start, `unexpected character ${JSON.stringify(c)}`);
  }
  push('eof', '', here());
  return tokens;
}

// --- internal ---

/** Apache's intconstant, hexconstant and dubconstant, the longest first. */
const NUMBER = /^[+-]?(?:0x[0-9a-fA-F]+|\d*\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)|\d+)/;

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function isIdentifierStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

function isIdentifierChar(c: string | undefined): boolean {
  return c !== undefined && (isIdentifierStart(c) || isDigit(c));
}

/** A dot continues an identifier when a letter, digit or underscore follows it (`a.b`, not `a.`). */
function isDottedPart(source: string, i: number): boolean {
  return source[i] === '.' && isIdentifierChar(source[i + 1]);
}

/** The escapes Apache's lexer accepts inside a literal. */
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", n: '\n', r: '\r', t: '\t' };

function readLiteral(source: string, start: number, file: string, loc: Position): { text: string; end: number } {
  const quote = source[start]!;
  let out = '';
  for (let i = start + 1; i < source.length; i++) {
    const c = source[i]!;
    if (c === quote) return { text: out, end: i + 1 };
    if (c === '\\') {
      const e = source[i + 1];
      const decoded = e === undefined ? undefined : ESCAPES[e];
      if (decoded === undefined) {
        throw new IdlParseError(file, loc, `bad escape "\\${e ?? ''}" in a literal (use \\\\ \\" \\' \\n \\r \\t)`);
      }
      out += decoded;
      i++;
      continue;
    }
    out += c;
  }
  throw new IdlParseError(file, loc, `unterminated literal (no closing ${quote})`);
}

/** The text of a doc comment: `*` margins and surrounding blank lines removed. */
function docText(body: string): string {
  const lines = body.split('\n').map((l) => l.replace(/^\s*\*?\s?/, '').trimEnd());
  while (lines.length && lines[0] === '') lines.shift();
  while (lines.length && lines.at(-1) === '') lines.pop();
  return lines.join('\n');
}
