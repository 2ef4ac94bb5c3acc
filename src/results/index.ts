/**
 * The results side of layercut: the SQLite run store, run rows, the runs / paper / compare /
 * summary views and their Markdown, CSV, LaTeX and JSON forms, and the statistics behind them.
 */
export * from './compare-view.js';
export * from './export.js';
export * from './followers.js';
export * from './format.js';
export * from './paper-view.js';
export * from './rows.js';
export * from './runs-view.js';
export * from './stats.js';
export * from './store.js';
export * from './summary.js';
export { SCHEMA_VERSION } from './schema.js';
