/**
 * `layercut verbalizer --tokenizer <dir> --task <task>`: the verbalizer linter. Shows each
 * label word with the tokens it gets in the template's answer slot and flags problems:
 * split (several tokens), collision (two labels score the same ids), merge (the word
 * merges with the text before the slot), line-start (it tokenizes differently at the start
 * of a line). Exit code 2 when there are errors, 0 otherwise.
 */
import { parseOptions } from './options.js';
import type { Command } from '../cli.js';
import { getTask } from '../data/tasks.js';
import { ExitCode, LayercutError } from '../errors.js';
import { parseTemplate } from '../prompts/template.js';
import { analyzeVerbalizer, scoringModes, type ScoringMode, type Verbalizer } from '../prompts/verbalizer.js';
import { loadTokenizer } from '../tokenizers/load.js';

const usage = `usage: layercut verbalizer --tokenizer <dir> --task <task> [options]

Tokenizes each label word of the task in its template's answer slot and prints a table:
label, word, its tokens in the slot (Ġ or ▁ mark a leading space), ids, flags.

  --tokenizer <dir>     folder holding tokenizer.json
  --task <name>         task whose labels, label words and template to check
  --template <text>     use this template instead of the task's
  --words <json>        use these label words instead: {"label": [" word", ...], ...}
  --scoring <mode>      first (default) | sum | mean
  --single-token        require every word to be one token

flags: split       the word is several tokens (error with --single-token)
       collision   another label scores the same ids (error)
       merge       the word merges with the text before the slot (error)
       line-start  the word tokenizes differently at the start of a line (for information)

Exit code 2 when there are errors.`;

const options = {
  tokenizer: { type: 'string' },
  task: { type: 'string' },
  template: { type: 'string' },
  words: { type: 'string' },
  scoring: { type: 'string' },
  'single-token': { type: 'boolean', default: false },
} as const;

/** Parses `args` (bad options become usage errors, see options.ts). */
function parse(args: string[]) {
  return parseOptions('verbalizer', { args, allowPositionals: false, options });
}

function parseWords(json: string): Record<string, string[]> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new LayercutError(`--words is not valid JSON: ${(error as Error).message}`);
  }
  const valid =
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((words) => Array.isArray(words) && words.every((w) => typeof w === 'string'));
  if (!valid) throw new LayercutError('--words must be a JSON object of label → array of words');
  return value as Record<string, string[]>;
}

function parseScoring(value: string | undefined): ScoringMode {
  if (value === undefined) return 'first';
  if ((scoringModes as readonly string[]).includes(value)) return value as ScoringMode;
  throw new LayercutError(`--scoring must be one of ${scoringModes.join(', ')}, got '${value}'`);
}

/** Lays out rows as columns separated by two spaces. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => [...row[col]!].length)));
  return rows
    .map((row) =>
      row
        .map((cell, col) => cell + ' '.repeat(widths[col]! - [...cell].length))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Flags of word j of label i. */
function flagsOf(verbalizer: Verbalizer, i: number, j: number, singleToken: boolean): string[] {
  const word = verbalizer.words[i]![j]!;
  const scored = verbalizer.scoredIds[i]![j]!;
  const flags: string[] = [];
  if (word.ids.length > 1) flags.push(singleToken ? 'split (error)' : 'split');
  const collides = verbalizer.scoredIds.some(
    (other, k) =>
      k !== i && other.some((ids) => ids.length === scored.length && ids.every((id, n) => id === scored[n])),
  );
  if (collides && scored.length > 0) flags.push('collision (error)');
  if (word.boundaryMerge) flags.push('merge (error)');
  if (word.lineStartTokens.join(' ') !== word.tokens.join(' ')) {
    flags.push(`line-start: ${word.lineStartTokens.join(' ')}`);
  }
  return flags;
}

/** The report `layercut verbalizer` prints and whether it found errors. */
export async function verbalizerReport(args: string[]): Promise<{ text: string; errors: number }> {
  const { values } = parse(args);
  if (!values.tokenizer)
    throw new LayercutError('missing --tokenizer <dir>', 'see layercut verbalizer --help');
  if (!values.task) throw new LayercutError('missing --task <name>', 'see layercut verbalizer --help');
  const task = getTask(values.task);
  const templateSource = values.template ?? task.template;
  const template = parseTemplate(templateSource, { fields: task.fields });
  const labelWords = values.words !== undefined ? parseWords(values.words) : task.labelWords;
  const singleToken = values['single-token'];
  const tokenizer = await loadTokenizer(values.tokenizer);
  const analysis = analyzeVerbalizer({
    tokenizer,
    template,
    labels: task.labels,
    labelWords,
    scoring: parseScoring(values.scoring),
    singleToken,
  });

  const rows = [['label', 'word', 'tokens in slot', 'ids', 'flags']];
  analysis.labels.forEach((label, i) => {
    const words = analysis.words[i]!;
    if (words.length === 0) rows.push([label, '(none)', '', '', 'no words (error)']);
    words.forEach((word, j) => {
      rows.push([
        label,
        JSON.stringify(word.word),
        word.tokens.join(' '),
        word.ids.join(' '),
        flagsOf(analysis, i, j, singleToken).join(', '),
      ]);
    });
  });
  const lines = [
    `task ${task.name} · template ${JSON.stringify(templateSource)} · scoring ${analysis.scoring}`,
    `tokenizer ${tokenizer.source} (${tokenizer.kind})`,
    '',
    table(rows),
  ];
  const errors = analysis.issues.filter((issue) => issue.severity === 'error');
  const warnings = analysis.issues.filter((issue) => issue.severity === 'warning');
  if (errors.length > 0) lines.push('', 'errors:', ...errors.map((issue) => `  - ${issue.message}`));
  if (warnings.length > 0) lines.push('', 'warnings:', ...warnings.map((issue) => `  - ${issue.message}`));
  lines.push('', errors.length === 0 ? 'ok: no errors' : `${errors.length} error(s)`);
  return { text: lines.join('\n'), errors: errors.length };
}

export const verbalizerCommand: Command = {
  usage,
  async run(args: string[]): Promise<number> {
    const report = await verbalizerReport(args);
    process.stdout.write(report.text + '\n');
    return report.errors > 0 ? ExitCode.usage : ExitCode.ok;
  },
};
