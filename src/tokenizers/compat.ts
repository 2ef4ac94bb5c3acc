/**
 * Rewrites the few `tokenizer.json` settings that `@huggingface/tokenizers` (the JS port)
 * reads differently from Hugging Face's Rust `tokenizers`, into equivalent settings it
 * does read the same way. Settings it cannot reproduce become warnings.
 *
 * - `Metaspace` pre-tokenizer with `split: true` (Rust's default): Rust cuts the text into
 *   words before each `▁`; the JS port never cuts. We append a `Split` that cuts the same way.
 * - `Metaspace` in the old format (`add_prefix_space`, no `prepend_scheme`): translated.
 * - `Split` with a `MergedWithPrevious`/`MergedWithNext`/`Contiguous` behavior: not
 *   reproducible; warned about.
 */
import type { ComponentJson, TokenizerJson } from './tokenizer-json.js';

export interface AdaptedTokenizerJson {
  json: TokenizerJson;
  warnings: string[];
}

function escapeForRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Rust's Metaspace (split: true) as Metaspace (split: false) followed by an equal Split. */
function adaptMetaspace(component: ComponentJson): ComponentJson {
  const replacement = typeof component.replacement === 'string' ? component.replacement : '\u2581';
  const adapted: ComponentJson = { ...component, split: false };
  if (adapted.prepend_scheme === undefined && typeof component.add_prefix_space === 'boolean') {
    adapted.prepend_scheme = component.add_prefix_space ? 'always' : 'never';
  }
  if (component.split === false) return adapted;
  const r = escapeForRegex(replacement);
  // Each piece starts at a `▁` and runs to the next (Rust's MergedWithNext on `▁`);
  // text before the first `▁` is a piece of its own.
  const split: ComponentJson = {
    type: 'Split',
    pattern: { Regex: `${r}[^${r}]*|[^${r}]+` },
    behavior: 'Isolated',
    invert: true,
  };
  return { type: 'Sequence', pretokenizers: [adapted, split] };
}

function adaptPreTokenizer(component: ComponentJson, warnings: string[]): ComponentJson {
  if (component.type === 'Sequence' && Array.isArray(component.pretokenizers)) {
    const children = (component.pretokenizers as ComponentJson[]).map((child) =>
      adaptPreTokenizer(child, warnings),
    );
    return { ...component, pretokenizers: children };
  }
  if (component.type === 'Metaspace') return adaptMetaspace(component);
  if (component.type === 'Split' && component.invert !== true) {
    const behavior = String(component.behavior ?? 'Isolated');
    if (!['Isolated', 'Removed'].includes(behavior)) {
      warnings.push(
        `pre-tokenizer Split with behavior '${behavior}' is not reproduced exactly (treated as 'Isolated')`,
      );
    }
  }
  return component;
}

/** A copy of `json` that the JS port tokenizes like Rust `tokenizers` does. */
export function adaptForTokenizersJs(json: TokenizerJson): AdaptedTokenizerJson {
  const warnings: string[] = [];
  const preTokenizer = json.pre_tokenizer ? adaptPreTokenizer(json.pre_tokenizer, warnings) : null;
  return { json: { ...json, pre_tokenizer: preTokenizer }, warnings };
}
