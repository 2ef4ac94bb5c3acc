/** Files a command writes for `--out`: every one is announced on stderr, so the user sees where it went. */
import { writeFileSync } from 'node:fs';

/** Writes `data` to `file` and prints `layercut <command>: wrote <file>` on stderr. */
export function writeOutputFile(command: string, file: string, data: string | Uint8Array): void {
  writeFileSync(file, data);
  console.error(`layercut ${command}: wrote ${file}`);
}
