/** The child process of one target's run, started by fuzz.ts: runs the inputs it is given and reports over IPC. */
import { runRange, type FromChild } from './engine.js';
import { loadTarget } from './targets.js';

const [name, seed, start, end, slowMs, workDir, known] = process.argv.slice(2);
// the parent is gone (killed, or its test timed out): nobody reads the results
process.on('disconnect', () => process.exit(0));
const target = await loadTarget(name!);
await target.setup?.(workDir!);
const send = (message: FromChild) => process.send!(message);
try {
  await runRange(
    target,
    {
      seed: Number(seed),
      start: Number(start),
      end: Number(end),
      slowMs: Number(slowMs),
      known: JSON.parse(known!) as string[],
    },
    send,
  );
} finally {
  await target.teardown?.();
}
// the callback comes once this last message (and so every one before it) is written
await new Promise((resolve) => process.send!({ type: 'end' } satisfies FromChild, undefined, {}, resolve));
process.disconnect();
