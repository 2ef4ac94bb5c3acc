/**
 * Ctrl-C for a long command (`layercut run`):
 *
 *   first SIGINT    `onFirst` runs and the returned signal aborts: the work stops at its next
 *                   step (every long loop yields to the event loop: runtime/event-loop.ts), puts
 *                   its run back in the queue and the command exits with 130
 *   within 1 s      the same Ctrl-C arriving twice, ignored: a terminal signals the whole
 *                   foreground process group, and `npm start` forwards the signal to its child too
 *   after that      ends the process at once, by SIGINT's default action (no handler is left),
 *                   even in the middle of a long computation; the shell reports 130, and the run
 *                   in progress is resumed later as after a crash
 */

/** How long after the first SIGINT another one counts as the same Ctrl-C, ms. */
export const CTRL_C_GRACE_MS = 1000;

export interface CtrlC {
  /** Aborts on the first Ctrl-C. */
  signal: AbortSignal;
  /**
   * The command is over: the handler goes (SIGINT's default action is back) — after the grace
   * when a Ctrl-C came, so that its second delivery cannot kill the process while it exits.
   */
  dispose(): void;
}

/** Handles SIGINT as the file comment says until `dispose()`. */
export function handleCtrlC(onFirst: () => void): CtrlC {
  const controller = new AbortController();
  let firstAt: number | undefined;
  const remove = (): void => {
    process.off('SIGINT', onSigint);
  };
  function onSigint(): void {
    if (firstAt === undefined) {
      firstAt = performance.now();
      onFirst();
      controller.abort();
      // After the grace, no handler: the next SIGINT ends the process where it stands.
      setTimeout(remove, CTRL_C_GRACE_MS).unref();
      return;
    }
    if (performance.now() - firstAt < CTRL_C_GRACE_MS) return;
    // A later Ctrl-C seen before the grace timer ran (the event loop was busy): the same ending.
    remove();
    process.kill(process.pid, 'SIGINT');
  }
  process.on('SIGINT', onSigint);
  return {
    signal: controller.signal,
    dispose: () => {
      if (firstAt === undefined) remove();
    },
  };
}
