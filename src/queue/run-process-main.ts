/**
 * Entry of a run process: the child that `RunProcess` forks (with tsx's loader from the
 * sources, plain Node from the build). Everything happens in serve-runs.ts.
 */
import { serveRuns } from './serve-runs.js';

await serveRuns();
