/**
 * `planTable(listing)`: what `layercut plan` prints, as a table a notebook can `show` — one
 * row per run with the settings that vary, the cut model's size, estimated tokens and FLOPs.
 *
 *   const listing = listPlan(await compileFile('../examples/paper.ts'));
 *   show(planTable(listing));
 */
import { humanFlops, planCells, statusSummary, type PlanListing } from '../compile/listing.js';
import type { DisplayTable } from '../results/format.js';

export function planTable(listing: PlanListing): DisplayTable {
  const [headers, ...cells] = planCells(listing);
  const rows = cells.map((row) => row.map((text) => ({ text })));
  const same = Object.entries(listing.same).map(([key, value]) => `${key} ${value}`);
  const notes = [
    `${listing.runs.length} runs, ${statusSummary(listing)}; estimated total ${humanFlops(listing.totalFlops)} FLOPs (upper bound: every epoch, no early stop)`,
    ...(same.length ? [`same for all: ${same.join(' · ')}`] : []),
    ...listing.notes.map((note) => `note: ${note}`),
  ];
  const numeric = headers.map((header) => ['tokens', 'FLOPs'].includes(header));
  return { headers, rows, numeric, notes };
}
