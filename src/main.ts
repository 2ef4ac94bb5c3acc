/** Process entry of the `layercut` command (bin/layercut.mjs loads it; bundles for the GPU machine start here). */
import { main } from './cli.js';

// `layercut plan … | head` closes the pipe early: that is not an error
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
process.exitCode = await main(process.argv.slice(2));
