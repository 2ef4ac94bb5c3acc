/**
 * A process that handles Ctrl-C as `layercut run` does (src/cli/ctrl-c.ts) but is slow to stop:
 * after the first SIGINT it goes on for a while giving the event loop turns (as a run does
 * between its steps), then computes for 30 s without one (as one long step of a large model
 * on a CPU backend does). Run by test/runner/ctrl-c.test.ts; it prints what it reached on stderr.
 */
import { handleCtrlC } from '../../src/cli/ctrl-c.js';
import { yieldToEventLoop } from '../../src/runtime/event-loop.js';

const ctrlC = handleCtrlC(() => process.stderr.write('first Ctrl-C\n'));
process.stderr.write('ready\n');
const waiting = setInterval(() => undefined, 1000); // the event loop stays alive until the Ctrl-C
await new Promise((resolve) => ctrlC.signal.addEventListener('abort', resolve, { once: true }));
clearInterval(waiting);
const turnsUntil = performance.now() + 2000;
while (performance.now() < turnsUntil) await yieldToEventLoop();
process.stderr.write('computing without turns\n');
const busyUntil = performance.now() + 30_000;
while (performance.now() < busyUntil);
process.stderr.write('still here after 30 s\n');
