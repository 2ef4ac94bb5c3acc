/**
 * Who holds a running run, and whether that holder is still alive. A store that marks a run
 * running records its host, pid, a token (one per open store) and, where the system tells it,
 * the process's start (Linux: boot id + start time from /proc/<pid>/stat), plus a lease it
 * renews while open. Another process judges the holder:
 *
 *   same store (same token)                  alive
 *   same host, same pid as the viewer        alive while that store is open in this process
 *   same host, start recorded and readable   alive iff a process with that pid has that start
 *                                            (a pid reused by an unrelated process is not it)
 *   same host, no start to compare           alive iff the pid exists and the lease has not run out
 *   another host                             alive until the lease runs out
 */
import { readFileSync } from 'node:fs';

/** The holder as the store's row records it. */
export interface HolderRecord {
  host: string | null;
  pid: number | null;
  token: string | null;
  /** processStart(pid) when it took the run; null where it could not be read (or older stores). */
  start: string | null;
  /** ISO time the lease ends. */
  leaseUntil: string | null;
}

/** Who asks: this process, possibly through an open store (its token). */
export interface Viewer {
  host: string;
  pid: number;
  token: string | null;
  now: Date;
  /** Tokens of the stores open in this process. */
  openTokens: ReadonlySet<string>;
}

let bootIdRead: string | null | undefined;

/** This boot's id (Linux), null where the system does not say; read once. */
function bootId(): string | null {
  if (bootIdRead === undefined) {
    try {
      bootIdRead = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootIdRead = null;
    }
  }
  return bootIdRead;
}

/**
 * A process's identity beyond its pid: "<boot id>/<start time in clock ticks>" on Linux, null
 * where /proc is not there or the process does not exist.
 */
export function processStart(pid: number): string | null {
  const boot = bootId();
  if (boot === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; the fields after the
    // last ')' start with field 3 (state); starttime is field 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTime = fields[22 - 3];
    return startTime === undefined ? null : `${boot}/${startTime}`;
  } catch {
    return null;
  }
}

/** Whether a process with this pid exists on this host (EPERM: it does, as another user's). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the holder may still be running the run, as `viewer` can tell (see the table above). */
export function holderAlive(holder: HolderRecord, viewer: Viewer): boolean {
  if (holder.token !== null && holder.token === viewer.token) return true;
  const leaseLive = holder.leaseUntil !== null && Date.parse(holder.leaseUntil) > viewer.now.getTime();
  if (holder.host !== viewer.host || holder.pid === null) return leaseLive;
  // Our own pid with another token: a store of this process, or a dead process whose pid we reuse.
  if (holder.pid === viewer.pid) return holder.token !== null && viewer.openTokens.has(holder.token);
  if (holder.start !== null && bootId() !== null) return processStart(holder.pid) === holder.start;
  return processExists(holder.pid) && leaseLive;
}
