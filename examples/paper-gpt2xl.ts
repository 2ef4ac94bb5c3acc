/**
 * The paper's GPT2-XL grid: keep the bottom 1, 2, 12, 24 or all 48 layers, fine-tune on
 * SST-2, AGNews, TREC and EmoC with prompt-based fine-tuning through the LM head (lm), a
 * classification head at the answer slot (prompt-cls) or on the raw text (cls), five seeds
 * each: 300 runs. Plus the no-training baseline: in-context learning with the full model, 20 runs.
 * The protocol itself (data, optimizer, schedule) is in paper-protocol.ts.
 *
 *   layercut plan examples/paper-gpt2xl.ts     # the runs, model sizes and costs; no download
 */
import { hf } from '../dsl/index.js';
import { paperGrid, paperIcl } from './paper-protocol.js';

const model = hf('openai-community/gpt2-xl');

export const gpt2xlGrid = paperGrid(model, [1, 2, 12, 24, 48]);
export const gpt2xlIcl = paperIcl(model);
