/**
 * `layercut tokenize --tokenizer <dir> <text>`: encodes one text and prints one line of
 * JSON, `{"ids":[…],"tokens":[…]}`. Special tokens are added as the tokenizer's
 * post-processor adds them (like Hugging Face's `tokenizer.encode(text)`) unless
 * `--no-special` is given.
 */
import { parseOptions } from './options.js';
import { readFile } from 'node:fs/promises';
import type { Command } from '../cli.js';
import { ExitCode, LayercutError } from '../errors.js';
import { loadTokenizer } from '../tokenizers/load.js';

const usage = `usage: layercut tokenize --tokenizer <dir> [--special | --no-special] <text>
       layercut tokenize --tokenizer <dir> --file <path | ->

Encodes the text with the tokenizer in <dir> (tokenizer.json, and tokenizer_config.json /
special_tokens_map.json when present) and prints {"ids":[...],"tokens":[...]} on one line.

  --tokenizer <dir>  folder holding tokenizer.json
  --special          add the special tokens the tokenizer adds by default (default)
  --no-special       do not add them (BERT's [CLS]/[SEP], Llama's <s>)
  --file <path>      read the text from a file, or from standard input with '-'

A text that starts with '-' goes after '--': layercut tokenize --tokenizer d -- '-12'`;

async function readText(path: string): Promise<string> {
  if (path !== '-') return readFile(path, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const options = {
  tokenizer: { type: 'string' },
  special: { type: 'boolean' },
  'no-special': { type: 'boolean' },
  file: { type: 'string' },
} as const;

/** Parses `args` (bad options become usage errors, see options.ts). */
function parse(args: string[]) {
  return parseOptions('tokenize', { args, allowPositionals: true, options });
}

/** The line `layercut tokenize` prints for these arguments (without the newline). */
export async function tokenizeOutput(args: string[]): Promise<string> {
  const { values, positionals } = parse(args);
  if (!values.tokenizer) throw new LayercutError('missing --tokenizer <dir>', 'see layercut tokenize --help');
  if (values.special && values['no-special']) {
    throw new LayercutError('give --special or --no-special, not both');
  }
  let text: string;
  if (values.file !== undefined) {
    if (positionals.length > 0) throw new LayercutError('give the text or --file, not both');
    text = await readText(values.file);
  } else if (positionals.length === 1) {
    text = positionals[0]!;
  } else {
    throw new LayercutError(
      positionals.length === 0
        ? 'missing the text to tokenize'
        : `expected one text, got ${positionals.length}`,
      'quote the text as one argument, or use --file',
    );
  }
  const tokenizer = await loadTokenizer(values.tokenizer);
  const { ids, tokens } = tokenizer.encode(text, { addSpecialTokens: !values['no-special'] });
  return JSON.stringify({ ids, tokens });
}

export const tokenizeCommand: Command = {
  usage,
  async run(args: string[]): Promise<number> {
    process.stdout.write((await tokenizeOutput(args)) + '\n');
    return ExitCode.ok;
  },
};
