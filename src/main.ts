/** Process entry of the `layercut` command (bin/layercut.mjs loads it; bundles for the GPU machine start here). */
import { main } from './cli.js';

process.exitCode = await main(process.argv.slice(2));
