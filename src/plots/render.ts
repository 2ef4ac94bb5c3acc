/**
 * Renders Vega-Lite specs without a browser: vega-lite compiles to Vega, a headless
 * `vega.View` writes SVG, and resvg rasterises the SVG to PNG with the system's fonts
 * (on Debian: the fonts-dejavu-core package; or pass font files).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

import { envValue } from '../env.js';
import { LayercutError } from '../errors.js';
import type { PlotSpec } from './specs.js';

/** SVG text of a Vega-Lite spec (a builder's, or any other). */
export async function renderSvg(spec: PlotSpec): Promise<string> {
  const compiled = vl.compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface PngOptions {
  /** Pixels per SVG unit. Default 2 (sharp on high-density screens and in papers). */
  scale?: number;
  /** Font files to use besides the system's (e.g. when the system has none). */
  fontFiles?: string[];
}

/** Folders where Linux, macOS and Windows keep fonts. */
const fontFolders = [
  '/usr/share/fonts',
  '/usr/local/share/fonts',
  path.join(process.env.HOME ?? '', '.fonts'),
  '/System/Library/Fonts',
  '/Library/Fonts',
  'C:\\Windows\\Fonts',
];

/** Whether any font file exists where resvg looks: without one, text would vanish from the PNG. */
export function systemFontsPresent(): boolean {
  const hasFont = (dir: string, depth: number): boolean => {
    if (depth > 4 || !existsSync(dir)) return false;
    try {
      return readdirSync(dir, { withFileTypes: true }).some((entry) =>
        entry.isDirectory()
          ? hasFont(path.join(dir, entry.name), depth + 1)
          : /\.(ttf|otf|ttc)$/i.test(entry.name),
      );
    } catch {
      return false;
    }
  };
  return fontFolders.some((dir) => hasFont(dir, 0));
}

export async function svgToPng(svg: string, options: PngOptions = {}): Promise<Buffer> {
  const font = envValue('font');
  const fontFiles = options.fontFiles ?? (font !== undefined ? [font] : []);
  if (fontFiles.length === 0 && !systemFontsPresent()) {
    throw new LayercutError(
      'cannot render PNG text: no font files found on this system',
      'install a font package (Debian/Ubuntu: apt-get install fonts-dejavu-core), set LAYERCUT_FONT=/path/to/font.ttf, or write .svg instead',
    );
  }
  // loaded on first use: SVG output needs no native module
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: options.scale ?? 2 },
    background: 'white',
    font: {
      loadSystemFonts: true,
      fontFiles,
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
  });
  return resvg.render().asPng();
}

export async function renderPng(spec: PlotSpec, options: PngOptions = {}): Promise<Buffer> {
  return svgToPng(await renderSvg(spec), options);
}
