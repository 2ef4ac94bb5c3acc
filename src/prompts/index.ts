/** Prompts: templates (parse, fill), rendering to token ids, and verbalizers. */
export {
  fillTemplate,
  parseTemplate,
  TemplateError,
  type ParseTemplateOptions,
  type PromptTemplate,
  type SlotKind,
  type SourceSpan,
  type TemplatePart,
} from './template.js';
export {
  renderPrompt,
  specialFrame,
  type Demonstration,
  type RenderedPrompt,
  type RenderOptions,
} from './render.js';
export {
  analyzeVerbalizer,
  buildVerbalizer,
  scoringModes,
  VerbalizerError,
  type ResolvedWord,
  type ScoringMode,
  type Verbalizer,
  type VerbalizerIssue,
  type VerbalizerIssueCode,
  type VerbalizerOptions,
} from './verbalizer.js';
