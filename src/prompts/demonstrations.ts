/** A few-shot sample's demonstrations as prompts show them: each example with its label's first word as the answer. */
import type { FewShotSample } from '../data/sampling.js';
import type { PromptSpec } from '../plan/types.js';
import type { Demonstration } from './render.js';

/** The sample's demonstrations, in class order, each answered with the first word of its label. */
export function sampleDemonstrations(
  sample: Pick<FewShotSample, 'task' | 'demos'>,
  plan: { prompt: Pick<PromptSpec, 'labelWords'> },
): Demonstration[] {
  return sample.demos.map((demo) => ({
    fields: demo.fields,
    answer: plan.prompt.labelWords[sample.task.labels[demo.label]!]![0]!,
  }));
}
