/**
 * Renders a prompt: demonstrations + the filled template, tokenized, with the position
 * whose output scores the label words.
 *
 * - Decoder templates (`{label}`): the prompt is the text before the slot; the answer
 *   position is its last token (a causal LM's next-token logits there score the label
 *   words). Text after `{label}` cannot change those logits and is left out.
 * - Masked-LM templates (`{mask}`): the slot becomes the tokenizer's mask token and the
 *   answer position is that token.
 *
 * The whole text is tokenized in one piece, so the ids equal tokenizing the rendered
 * string (plus the tokenizer's special tokens, e.g. BERT's [CLS] … [SEP] or Llama's <s>).
 *
 * Too long for `maxLength`: only the query's field text is shortened (never the template
 * text nor the demonstrations) — by default the longest field, cut from the right (its
 * end is dropped), like Hugging Face's default truncation side. The cut is the longest
 * that fits, in whole characters, found by re-tokenizing.
 *
 * Demonstrations get their own cap, applied once per sample before rendering
 * (`fitDemonstrations`): each is shortened in its field text, the same way, to `demoMaxTokens`.
 */
import { LayercutError } from '../errors.js';
import type { Tokenizer } from '../tokenizers/types.js';
import { fillTemplate, type PromptTemplate, type SlotKind } from './template.js';

/** A solved example placed before the query: its fields and the text filling its slot. */
export interface Demonstration {
  fields: Readonly<Record<string, string>>;
  /** Usually the label word, with its leading space: `' Positive'`. */
  answer: string;
}

export interface RenderOptions {
  /** The query example's field values. */
  fields: Readonly<Record<string, string>>;
  demonstrations?: readonly Demonstration[];
  /** Between demonstrations and before the query; default `"\n"`. */
  separator?: string;
  /** Most tokens the prompt may have, special tokens included. */
  maxLength?: number;
  /** Which end of the field text to drop when too long: `right` (default) keeps the beginning. */
  truncation?: 'left' | 'right';
  /** The field to shorten; default the query's longest field used by the template. */
  truncateField?: string;
  /** Add the tokenizer's special tokens (BOS, CLS/SEP); default true. */
  addSpecialTokens?: boolean;
}

export interface RenderedPrompt {
  /** Token ids the model reads. */
  ids: number[];
  /** Index into `ids` whose output scores the label words. */
  answerPosition: number;
  slot: SlotKind;
  /** The rendered text `ids` encode (without special tokens). */
  text: string;
  /** Characters dropped from the truncated field (0 when it fit). */
  truncatedChars: number;
}

/** The special tokens a tokenizer puts before and after a single text (cached). */
interface SpecialFrame {
  lead: number[];
  trail: number[];
}

const frames = new WeakMap<Tokenizer, SpecialFrame>();

export function specialFrame(tokenizer: Tokenizer): SpecialFrame {
  let frame = frames.get(tokenizer);
  if (!frame) {
    const probe = 'a';
    const plain = tokenizer.encode(probe, { addSpecialTokens: false }).ids;
    const full = tokenizer.encode(probe, { addSpecialTokens: true }).ids;
    let at = 0;
    while (at + plain.length <= full.length && !plain.every((id, i) => full[at + i] === id)) at++;
    frame = { lead: full.slice(0, at), trail: full.slice(at + plain.length) };
    frames.set(tokenizer, frame);
  }
  return frame;
}

/** The prompt text before and from the slot, for given query field values. */
function promptText(
  template: PromptTemplate,
  fields: Readonly<Record<string, string>>,
  demoText: string,
  maskToken: string,
): { beforeSlot: string; full: string } {
  const beforeSlot = demoText + fillTemplate(template, fields, '', 'slot');
  const full =
    template.slot?.kind === 'mask' ? demoText + fillTemplate(template, fields, maskToken) : beforeSlot;
  return { beforeSlot, full };
}

function renderUntruncated(
  template: PromptTemplate,
  tokenizer: Tokenizer,
  fields: Readonly<Record<string, string>>,
  demoText: string,
  addSpecialTokens: boolean,
): Omit<RenderedPrompt, 'truncatedChars'> {
  const slot = template.slot;
  if (!slot) {
    throw new LayercutError(
      `template ${JSON.stringify(template.source)} has no answer slot to render a prompt for`,
      'add {label} or {mask}',
    );
  }
  const { lead, trail } = addSpecialTokens ? specialFrame(tokenizer) : { lead: [], trail: [] };
  if (slot.kind === 'label') {
    const { beforeSlot } = promptText(template, fields, demoText, '');
    const ids = [...lead, ...tokenizer.encode(beforeSlot, { addSpecialTokens: false }).ids];
    if (ids.length === 0) {
      throw new LayercutError(
        `nothing comes before {label} in ${JSON.stringify(template.source)}`,
        'a decoder reads the answer after at least one token: put text or a field before {label}',
      );
    }
    return { ids, answerPosition: ids.length - 1, slot: 'label', text: beforeSlot };
  }
  const mask = tokenizer.specialTokens.mask;
  if (!mask) {
    throw new LayercutError(
      `the template has {mask} but tokenizer ${tokenizer.source} has no mask token`,
      'use {label} for decoder models, or a masked LM tokenizer (BERT, RoBERTa)',
    );
  }
  const { beforeSlot, full } = promptText(template, fields, demoText, mask.token);
  const throughMask = tokenizer.encode(beforeSlot + mask.token, { addSpecialTokens: false }).ids;
  const ids = [...lead, ...tokenizer.encode(full, { addSpecialTokens: false }).ids, ...trail];
  const answerPosition = lead.length + throughMask.length - 1;
  if (ids[answerPosition] !== mask.id) {
    throw new LayercutError(
      `could not place the mask token in the rendered prompt (is '${mask.token}' inside the field text?)`,
    );
  }
  return { ids, answerPosition, slot: 'mask', text: full };
}

/** The longest field the template uses, to shorten first. */
function longestField(
  template: PromptTemplate,
  fields: Readonly<Record<string, string>>,
): string | undefined {
  let best: string | undefined;
  for (const name of template.fields) {
    if (best === undefined || (fields[name]?.length ?? 0) > (fields[best]?.length ?? 0)) best = name;
  }
  return best;
}

/** The longest start (or end, with `keepEnd`) of `text`, in whole characters, that `fits`; `fits('')` holds and `fits(text)` does not. */
function longestFitting(text: string, keepEnd: boolean, fits: (kept: string) => boolean): string {
  const chars = [...text];
  const kept = (count: number): string =>
    (keepEnd ? chars.slice(chars.length - count) : chars.slice(0, count)).join('');
  // Longest kept length that fits: lo always fits, hi never does.
  let lo = 0;
  let hi = chars.length;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(kept(mid))) lo = mid;
    else hi = mid;
  }
  return kept(lo);
}

export interface FitDemonstrationsOptions {
  /** Most tokens the prompt may have (`data.maxLength`). */
  maxLength: number;
  /** Most tokens of one demonstration, counted on its own; absent: the default rule (see `fitDemonstrations`). */
  demoMaxTokens?: number;
  /** Which end of a demonstration's field text to drop: `right` (default) keeps the beginning. */
  truncation?: 'left' | 'right';
  /** As for `renderPrompt`. */
  separator?: string;
  addSpecialTokens?: boolean;
}

/** Tokens of one filled demonstration on its own (no special tokens). */
export function demonstrationTokens(
  template: PromptTemplate,
  tokenizer: Tokenizer,
  demo: Demonstration,
): number {
  return tokenizer.encode(fillTemplate(template, demo.fields, demo.answer), { addSpecialTokens: false }).ids
    .length;
}

/**
 * The demonstrations as every prompt of a sample holds them. With `demoMaxTokens`, each longer
 * than that (counted on its own) is shortened in its longest field. Without it (the default),
 * they stay whole when the template and demonstrations fit `maxLength` with the query's fields
 * left empty — so every prompt that rendered before keeps its tokens — else each is cut to an
 * equal share of half of `maxLength`, ⌊maxLength / (2 × demonstrations)⌋ tokens, leaving the
 * other half to the query.
 */
export function fitDemonstrations(
  template: PromptTemplate,
  tokenizer: Tokenizer,
  demonstrations: readonly Demonstration[],
  options: FitDemonstrationsOptions,
): Demonstration[] {
  if (demonstrations.length === 0) return [];
  let cap = options.demoMaxTokens;
  if (cap === undefined) {
    const emptyQuery = Object.fromEntries(template.fields.map((field) => [field, '']));
    const whole = renderPrompt(template, tokenizer, {
      fields: emptyQuery,
      demonstrations,
      ...(options.separator !== undefined ? { separator: options.separator } : {}),
      ...(options.addSpecialTokens !== undefined ? { addSpecialTokens: options.addSpecialTokens } : {}),
    });
    if (whole.ids.length <= options.maxLength) return [...demonstrations];
    cap = Math.max(1, Math.floor(options.maxLength / (2 * demonstrations.length)));
  }
  const limit = cap;
  return demonstrations.map((demo) => {
    const fits = (fields: Readonly<Record<string, string>>): boolean =>
      demonstrationTokens(template, tokenizer, { ...demo, fields }) <= limit;
    if (fits(demo.fields)) return demo;
    const field = longestField(template, demo.fields);
    if (field === undefined || !fits({ ...demo.fields, [field]: '' })) {
      throw new LayercutError(
        `a demonstration cannot be shortened to ${limit} tokens: the template and label word alone take more`,
        'raise data.demoMaxTokens (or data.maxLength), or use fewer demonstrations',
      );
    }
    const text = longestFitting(demo.fields[field] ?? '', options.truncation === 'left', (kept) =>
      fits({ ...demo.fields, [field]: kept }),
    );
    return { ...demo, fields: { ...demo.fields, [field]: text } };
  });
}

/** Renders `template` for one query example with optional demonstrations. */
export function renderPrompt(
  template: PromptTemplate,
  tokenizer: Tokenizer,
  options: RenderOptions,
): RenderedPrompt {
  const separator = options.separator ?? '\n';
  const addSpecialTokens = options.addSpecialTokens ?? true;
  const demos = (options.demonstrations ?? []).map((demo) =>
    fillTemplate(template, demo.fields, demo.answer),
  );
  const demoText = demos.length > 0 ? demos.join(separator) + separator : '';
  const render = (fields: Readonly<Record<string, string>>) =>
    renderUntruncated(template, tokenizer, fields, demoText, addSpecialTokens);

  const whole = render(options.fields);
  const maxLength = options.maxLength;
  if (maxLength === undefined || whole.ids.length <= maxLength) return { ...whole, truncatedChars: 0 };

  const fieldName = options.truncateField ?? longestField(template, options.fields);
  if (fieldName === undefined || !template.fields.includes(fieldName)) {
    throw new LayercutError(
      `the prompt has ${whole.ids.length} tokens, more than maxLength ${maxLength}, and there is no field to shorten`,
      fieldName === undefined
        ? 'raise maxLength'
        : `the template's fields are: ${template.fields.join(', ')}`,
    );
  }
  const text = options.fields[fieldName] ?? '';
  const withField = (kept: string) => ({ ...options.fields, [fieldName]: kept });
  const fits = (kept: string) => render(withField(kept)).ids.length <= maxLength;
  if (!fits('')) {
    const empty = render(withField('')).ids.length;
    throw new LayercutError(
      `the template and demonstrations alone take ${empty} tokens, more than maxLength ${maxLength}`,
      'raise data.maxLength, lower data.demoMaxTokens or use fewer demonstrations (`layercut check` shows the counts)',
    );
  }
  const kept = longestFitting(text, options.truncation === 'left', fits);
  return { ...render(withField(kept)), truncatedChars: [...text].length - [...kept].length };
}
