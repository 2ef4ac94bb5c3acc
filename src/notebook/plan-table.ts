/**
 * `planTable(listing)`: what `layercut plan` prints, as a table a notebook can `show` — one
 * row per run with the settings that vary, the cut model's size, estimated tokens and FLOPs.
 *
 *   const listing = listPlan(await compileFile('../examples/paper.ts'));
 *   show(planTable(listing));
 */
import { humanCount, humanFlops, statusSummary, type PlanListing } from '../compile/listing.js';
import type { DisplayTable } from '../results/format.js';

export function planTable(listing: PlanListing): DisplayTable {
  const headers = ['id', ...listing.columns, 'params', 'tokens', 'FLOPs', 'status'];
  const rows = listing.runs.map((run) =>
    [
      run.id,
      ...listing.columns.map((column) => run.varies[column] ?? ''),
      run.estimate.params
        ? `${humanCount(run.estimate.params.after)} (${run.estimate.params.layersAfter}/${run.estimate.params.layersBefore} layers)`
        : '?',
      run.estimate.tokens ? humanCount(run.estimate.tokens.train + run.estimate.tokens.eval) : '?',
      run.estimate.flops ? humanFlops(run.estimate.flops.total) : '?',
      run.status,
    ].map((text) => ({ text })),
  );
  const same = Object.entries(listing.same).map(([key, value]) => `${key} ${value}`);
  const notes = [
    `${listing.runs.length} runs, ${statusSummary(listing)}; estimated total ${humanFlops(listing.totalFlops)} FLOPs (upper bound: every epoch, no early stop)`,
    ...(same.length ? [`same for all: ${same.join(' · ')}`] : []),
    ...listing.notes.map((note) => `note: ${note}`),
  ];
  const numeric = headers.map((header) => ['tokens', 'FLOPs'].includes(header));
  return { headers, rows, numeric, notes };
}
