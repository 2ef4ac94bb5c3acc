/**
 * Talking to the Jupyter front end from inside a tslab kernel: send a MIME bundle as
 * `display_data`, and replace it later with `update_display_data` under the same display id.
 *
 * tslab's public `display` API sends one MIME type per message, but a plot wants a bundle
 * (Vega-Lite for live front ends, SVG for saved notebooks, text for consoles). tslab's
 * `jupyter` module holds the function that writes a display message for the cell now running
 * (`lastWriteDisplayData(content, update)`); we find that module in Node's module cache, so
 * this works whichever tslab started the kernel (a global one hands over to the project's).
 *
 * Outside a kernel (plain `node`, tests, scripts) `kernelChannel()` is undefined and the
 * notebook helpers print text instead.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';

/** MIME type → content: text for text and JSON types as JSON values, base64 for images. */
export type MimeBundle = Record<string, unknown>;

/** The content of a `display_data` / `update_display_data` message (Jupyter messaging spec). */
interface DisplayContent {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}

type WriteDisplayData = (content: DisplayContent, update: boolean) => void;

/** A way to put outputs into the cell that is running. */
export interface KernelChannel {
  /** Shows `bundle` as a new output; with `displayId`, it can be replaced later. */
  display(bundle: MimeBundle, displayId?: string): void;
  /** Replaces the output shown under `displayId` (in whichever cell it is). */
  update(bundle: MimeBundle, displayId: string): void;
}

/** tslab's `dist/jupyter.js`, as a module path ends. */
const jupyterModuleSuffix = `${path.sep}tslab${path.sep}dist${path.sep}jupyter.js`;

/** The display writer of the tslab kernel running this process, if there is one. */
function findWriter(): WriteDisplayData | undefined {
  const cache = createRequire(import.meta.url).cache;
  for (const [file, module] of Object.entries(cache)) {
    if (!file.endsWith(jupyterModuleSuffix)) continue;
    const exported = (module?.exports ?? {}) as { lastWriteDisplayData?: unknown };
    if (typeof exported.lastWriteDisplayData === 'function') {
      return exported.lastWriteDisplayData as WriteDisplayData;
    }
  }
  return undefined;
}

/**
 * The channel to the running notebook cell, or undefined outside a tslab kernel. Looked up on
 * every call: tslab replaces the writer for each cell it executes.
 */
export function kernelChannel(): KernelChannel | undefined {
  if (!findWriter()) return undefined;
  const send = (bundle: MimeBundle, displayId: string | undefined, update: boolean): void => {
    // The writer of the cell running now (not the one that was current when the channel was made).
    const write = findWriter();
    if (!write) return;
    write({ data: bundle, metadata: {}, transient: displayId ? { display_id: displayId } : {} }, update);
  };
  return {
    display: (bundle, displayId) => send(bundle, displayId, false),
    update: (bundle, displayId) => send(bundle, displayId, true),
  };
}

/** Whether this process is a tslab kernel (so displays go to the notebook). */
export function inKernel(): boolean {
  return findWriter() !== undefined;
}

/** A fresh display id (16 hex digits). */
export function newDisplayId(): string {
  return randomBytes(8).toString('hex');
}
