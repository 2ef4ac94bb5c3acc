/**
 * GPT-2's byte-to-unicode table: byte-level BPE vocabularies (GPT-2, OPT, RoBERTa) store
 * each token as a string with one printable character per byte. Printable Latin-1 bytes
 * stand for themselves; the other 68 bytes (controls, space, …) map to U+0100 onwards, in
 * byte order — so a space is `Ġ` (U+0120) and a newline `Ċ` (U+010A).
 */

function buildByteToChar(): string[] {
  const table: string[] = new Array<string>(256);
  const printable = (byte: number): boolean =>
    (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  let next = 0;
  for (let byte = 0; byte < 256; byte++) {
    table[byte] = String.fromCharCode(printable(byte) ? byte : 256 + next++);
  }
  return table;
}

/** `byteToChar[b]` is the one-character string that stands for byte `b`. */
export const byteToChar: readonly string[] = buildByteToChar();

const charToByte: ReadonlyMap<string, number> = new Map(byteToChar.map((char, byte) => [char, byte]));

/** The vocabulary string of a token made of these bytes, e.g. bytes of " Hi" → `ĠHi`. */
export function bytesToTokenString(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byteToChar[byte];
  return out;
}

/** The bytes a byte-level token string stands for; undefined if a character is not in the table. */
export function tokenStringToBytes(token: string): Uint8Array | undefined {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const byte = charToByte.get(token[i]!);
    if (byte === undefined) return undefined;
    bytes[i] = byte;
  }
  return bytes;
}
