/** Command-line options through node:util parseArgs, its errors turned into usage errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LayercutError } from '../errors.js';

/** parseArgs for `layercut <command>`: an unknown option or bad value is a LayercutError pointing at --help. */
export function parseOptions<T extends ParseArgsConfig>(
  command: string,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new LayercutError((error as Error).message, `see layercut ${command} --help`);
  }
}
