/**
 * The paper's OPT-1.3B grid: keep the bottom 1, 2, 6, 12 or all 24 layers, fine-tune on
 * SST-2, AGNews, TREC and EmoC with lm, prompt-cls and cls, five seeds each: 300 runs. Plus the
 * no-training baseline: in-context learning with the full model, 20 runs.
 * The protocol itself (data, optimizer, schedule) is in paper-protocol.ts.
 *
 *   layercut plan examples/paper-opt13b.ts     # the runs, model sizes and costs; no download
 */
import { hf } from '../dsl/index.js';
import { paperGrid, paperIcl } from './paper-protocol.js';

const model = hf('facebook/opt-1.3b');

export const opt13bGrid = paperGrid(model, [1, 2, 6, 12, 24]);
export const opt13bIcl = paperIcl(model);
