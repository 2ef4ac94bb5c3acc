/**
 * Just enough of RFC 822/MIME to turn a raw email into readable text: headers (unfolded,
 * encoded words decoded), multipart bodies (the first text/plain part, else text/html with
 * tags stripped), base64 and quoted-printable transfer encodings.
 */

export interface ParsedEmail {
  subject: string;
  /** The body as plain text, whitespace not yet normalised. */
  body: string;
}

interface Part {
  headers: Map<string, string>;
  body: string;
}

/** Splits a message or MIME part into unfolded headers (lower-cased names) and body. */
function splitPart(raw: string): Part {
  const text = raw.replace(/\r\n/g, '\n');
  const blank = text.indexOf('\n\n');
  const head = blank >= 0 ? text.slice(0, blank) : text;
  const body = blank >= 0 ? text.slice(blank + 2) : '';
  const headers = new Map<string, string>();
  const unfolded = head.replace(/\n[ \t]+/g, ' ');
  for (const line of unfolded.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

/** A header parameter such as `boundary` or `charset` from `type/sub; name="value"`. */
function headerParam(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const match = new RegExp(`(?:^|;)\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]*))`, 'i').exec(header);
  return match ? (match[1] ?? match[2]) : undefined;
}

function decodeBytes(bytes: Uint8Array, charset: string | undefined): string {
  const label = (charset ?? 'utf-8').toLowerCase();
  try {
    return new TextDecoder(label === 'us-ascii' ? 'utf-8' : label).decode(bytes);
  } catch {
    return new TextDecoder('latin1').decode(bytes);
  }
}

/** The byte values of a string whose characters are all below 256. */
function latin1Bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

function decodeQuotedPrintable(text: string, charset: string | undefined, underscoreIsSpace = false): string {
  const source = (underscoreIsSpace ? text.replace(/_/g, ' ') : text).replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(source.slice(i + 1, i + 3))) {
      bytes.push(parseInt(source.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const code = c.charCodeAt(0);
      if (code < 256) bytes.push(code);
      else for (const b of new TextEncoder().encode(c)) bytes.push(b);
    }
  }
  return decodeBytes(Uint8Array.from(bytes), charset);
}

function decodeBase64(text: string, charset: string | undefined): string {
  return decodeBytes(Buffer.from(text.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64'), charset);
}

/** Decodes RFC 2047 encoded words (`=?utf-8?B?…?=`, `=?iso-8859-1?Q?…?=`) in a header. */
export function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, charset: string, encoding: string, data: string) =>
      encoding.toUpperCase() === 'B'
        ? decodeBase64(data, charset)
        : decodeQuotedPrintable(data, charset, true),
    );
}

const ENTITIES: Record<string, string> = {
  nbsp: ' ',
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  copy: '©',
  reg: '®',
};

/** Visible text of an HTML fragment: scripts, styles, comments and tags removed, entities decoded. */
export function htmlToText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<(br|p|div|tr|li|h\d)\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#(\d+);/g, (_, code: string) => safeCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_, code: string) => safeCodePoint(parseInt(code, 16)))
    .replace(/&([a-z]+);/gi, (whole, name: string) => ENTITIES[name.toLowerCase()] ?? whole);
}

function safeCodePoint(code: number): string {
  return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
}

/** The decoded body of a single (non-multipart) part. */
function decodeBody(part: Part): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '').toLowerCase();
  const charset = headerParam(part.headers.get('content-type'), 'charset');
  if (encoding === 'base64') return decodeBase64(part.body, charset);
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(part.body, charset);
  // 8bit/7bit bodies were already decoded to characters when the corpus was made.
  return charset && /^(utf-8|us-ascii)$/i.test(charset) ? part.body : decodeBytesIfLatin1(part.body, charset);
}

function decodeBytesIfLatin1(body: string, charset: string | undefined): string {
  if (!charset || [...body].some((c) => c.charCodeAt(0) > 0xff)) return body;
  return decodeBytes(latin1Bytes(body), charset);
}

/** The readable text of a part: text/plain preferred, text/html stripped, others empty. */
function partText(part: Part, depth = 0): { text: string; html: boolean } | undefined {
  const type = (part.headers.get('content-type') ?? 'text/plain').toLowerCase();
  if (type.startsWith('multipart/') && depth < 5) {
    const boundary = headerParam(part.headers.get('content-type'), 'boundary');
    if (!boundary) return { text: part.body, html: false };
    const pieces = part.body.split(`--${boundary}`).slice(1);
    let html: { text: string; html: boolean } | undefined;
    for (const piece of pieces) {
      if (piece.startsWith('--')) break; // closing delimiter
      const found = partText(splitPart(piece.replace(/^\r?\n/, '')), depth + 1);
      if (found && !found.html && found.text.trim()) return found;
      if (found && found.html && !html) html = found;
    }
    return html;
  }
  if (type.startsWith('text/html')) return { text: htmlToText(decodeBody(part)), html: true };
  if (type.startsWith('text/') || !part.headers.has('content-type'))
    return { text: decodeBody(part), html: false };
  return undefined;
}

/** Parses a raw email into its subject and plain-text body. */
export function parseEmail(raw: string): ParsedEmail {
  const message = splitPart(raw);
  const subject = decodeHeader(message.headers.get('subject') ?? '');
  const body = partText(message)?.text ?? '';
  return { subject, body };
}
