/**
 * Text forms of a result table: Markdown, CSV and LaTeX (booktabs), from one `DisplayTable`
 * (header + rows of text cells, some marked bold). Also the number formats the views share and
 * plain aligned columns for terminal tables.
 */

export interface DisplayCell {
  text: string;
  /** Best in its column: bold in Markdown and LaTeX, plain in CSV. */
  bold?: boolean;
}

export interface DisplayTable {
  headers: string[];
  rows: DisplayCell[][];
  /** Right-align these columns (numbers). */
  numeric?: boolean[];
  /** Lines printed under the table (Markdown, LaTeX comment); not in CSV. */
  notes?: string[];
}

/** 0.8512 → "85.1" (percent, one decimal). */
export function percent(fraction: number, decimals = 1): string {
  return (fraction * 100).toFixed(decimals);
}

/** mean ± std of fractions, in percent: "85.0 ± 7.1", or "85.0" when there is no std. */
export function percentMeanStd(mean: number, std: number | null, decimals = 1): string {
  return std === null ? percent(mean, decimals) : `${percent(mean, decimals)} ± ${percent(std, decimals)}`;
}

/** A signed difference in percentage points: "+2.3 ± 1.1". */
export function signedPercentMeanStd(mean: number, std: number | null, decimals = 1): string {
  const text = percent(mean, decimals);
  const signed = mean > 0 && Number(text) !== 0 ? `+${text}` : text;
  return std === null ? signed : `${signed} ± ${percent(std, decimals)}`;
}

/** 124439808 → "124.4M", 1557611200 → "1.56B", 85000 → "85.0k". */
export function humanCount(count: number): string {
  const units: [number, string][] = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, unit] of units) {
    if (Math.abs(count) >= size) {
      const value = count / size;
      return `${value >= 100 || unit === 'k' ? value.toFixed(1) : value.toPrecision(3)}${unit}`;
    }
  }
  return String(count);
}

/** A p-value: "<0.001" or three decimals. */
export function pValue(p: number | null): string {
  if (p === null || Number.isNaN(p)) return '–';
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

/** Rows as plain text: columns left-aligned, two spaces apart, no trailing blanks (terminal tables). */
export function alignedColumns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, col) => cell.padEnd(widths[col]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Newlines shown as the two characters \n, so a template fits on one table line. */
export function oneLine(text: string): string {
  return text.replace(/\r?\n/g, '\\n');
}

function markdownCell(cell: DisplayCell): string {
  const text = oneLine(cell.text).replace(/\|/g, '\\|');
  return cell.bold && text !== '' ? `**${text}**` : text;
}

export function toMarkdown(table: DisplayTable): string {
  const numeric = table.numeric ?? [];
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const lines = [
    line(table.headers.map((h) => markdownCell({ text: h }))),
    line(table.headers.map((_, i) => (numeric[i] ? '---:' : '---'))),
    ...table.rows.map((row) => line(row.map(markdownCell))),
  ];
  if (table.notes?.length) lines.push('', ...table.notes);
  return `${lines.join('\n')}\n`;
}

/** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(table: DisplayTable): string {
  const lines = [table.headers, ...table.rows.map((row) => row.map((cell) => cell.text))];
  return `${lines.map((cells) => cells.map(csvField).join(',')).join('\n')}\n`;
}

/** Escapes LaTeX's special characters; "±" becomes $\pm$. */
export function latexText(text: string): string {
  const escapes: Record<string, string> = {
    '\\': '\\textbackslash{}',
    '{': '\\{',
    '}': '\\}',
    $: '\\$',
    '&': '\\&',
    '#': '\\#',
    '%': '\\%',
    _: '\\_',
    '^': '\\textasciicircum{}',
    '~': '\\textasciitilde{}',
    '±': '$\\pm$',
    '−': '$-$',
    Δ: '$\\Delta$',
    '∞': '$\\infty$',
    '†': '\\textdagger{}',
    '<': '$<$',
    '>': '$>$',
  };
  return oneLine(text).replace(/[\\{}$&#%_^~±−Δ∞†<>]/g, (c) => escapes[c]);
}

export function toLatex(table: DisplayTable): string {
  const numeric = table.numeric ?? [];
  const cell = (c: DisplayCell): string =>
    c.bold && c.text !== '' ? `\\textbf{${latexText(c.text)}}` : latexText(c.text);
  const row = (cells: string[]): string => `${cells.join(' & ')} \\\\`;
  const lines = [
    ...(table.notes ?? []).map((note) => `% ${note}`),
    `\\begin{tabular}{${table.headers.map((_, i) => (numeric[i] ? 'r' : 'l')).join('')}}`,
    '\\toprule',
    row(table.headers.map((h) => latexText(h))),
    '\\midrule',
    ...table.rows.map((r) => row(r.map(cell))),
    '\\bottomrule',
    '\\end{tabular}',
  ];
  return `${lines.join('\n')}\n`;
}
