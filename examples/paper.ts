/**
 * Both of the paper's grids in one file: GPT2-XL and OPT-1.3B, 600 fine-tuning runs, plus the
 * 40 in-context-learning baseline runs.
 *
 *   layercut plan examples/paper.ts
 */
export { gpt2xlGrid, gpt2xlIcl } from './paper-gpt2xl.js';
export { opt13bGrid, opt13bIcl } from './paper-opt13b.js';
