/**
 * Training methods (how a cut model is turned into a classifier):
 *
 *   lm()           prompt-based fine-tuning: the LM head scores each label's words at {label}
 *   promptCls()    a new classification head on the hidden state at {label}
 *   cls()          a new classification head on the last token of the raw text
 *   icl()          no training: in-context learning with the demonstrations, scored like lm
 *   linearProbe()  like cls with the model frozen: only the head trains
 *
 * Methods that score the answer slot (lm, promptCls, icl) need a template with `{label}`.
 */

export interface MethodOptions {
  /** Keep the token and position embeddings fixed (default false). */
  freezeEmbeddings?: boolean;
  /** Original indices of kept layers to keep fixed (default none). */
  freezeLayers?: readonly number[];
}

export interface LmMethod extends MethodOptions {
  readonly kind: 'lm';
}
export interface PromptClsMethod extends MethodOptions {
  readonly kind: 'prompt-cls';
}
export interface ClsMethod extends MethodOptions {
  readonly kind: 'cls';
}
/** In-context learning trains nothing: no freeze options. */
export interface IclMethod {
  readonly kind: 'icl';
}
/** A linear probe trains only its head: no freeze options. */
export interface LinearProbeMethod {
  readonly kind: 'linear-probe';
}

export type Method = LmMethod | PromptClsMethod | ClsMethod | IclMethod | LinearProbeMethod;

/** Methods that score the template's answer slot and so need `{label}` in it. */
export type SlotMethod = LmMethod | PromptClsMethod | IclMethod;

/** Prompt-based fine-tuning through the LM head (the paper's main method). */
export function lm(options: MethodOptions = {}): LmMethod {
  return { kind: 'lm', ...options };
}

/** Prompt-based fine-tuning with a new classification head at the answer slot. */
export function promptCls(options: MethodOptions = {}): PromptClsMethod {
  return { kind: 'prompt-cls', ...options };
}

/** Fine-tuning with a new classification head on the last token of the raw text. */
export function cls(options: MethodOptions = {}): ClsMethod {
  return { kind: 'cls', ...options };
}

/** In-context learning: no training, demonstrations in the prompt, label words scored. */
export function icl(): IclMethod {
  return { kind: 'icl' };
}

/** A classification head on the frozen model. */
export function linearProbe(): LinearProbeMethod {
  return { kind: 'linear-probe' };
}
