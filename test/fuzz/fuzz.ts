/**
 * The fuzz driver: `npm run fuzz -- [--seed N] [--count N] [--target NAME]… [--from I] [--hang-ms N]`.
 *
 * Each target runs in a child process (child.ts, engine.ts) watched from here: an input that
 * keeps it busy past the hang limit, or kills it (V8 aborts the whole process on some
 * allocation failures), is a crash; a new child goes on with the next input. Prints the count of each outcome per target, every crash with its
 * seed, index and minimal input, and exits 1 when anything crashed.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeInput, type Crash, type FromChild } from './engine.js';
import { loadTarget, TARGET_NAMES } from './targets.js';

export interface FuzzOptions {
  targets: string[];
  seed: number;
  /** Inputs per target. */
  count: number;
  /** First input index (to replay one input: `--from I --count 1`). */
  from: number;
  /** One input taking longer than this is a crash. */
  hangMs: number;
}

export interface TargetReport {
  target: string;
  seed: number;
  inputs: number;
  /** Inputs per outcome label (one input may count under several labels). */
  counts: Record<string, number>;
  crashes: Crash[];
  seconds: number;
}

export const DEFAULT_OPTIONS: FuzzOptions = {
  targets: TARGET_NAMES,
  seed: 1,
  count: 100_000,
  from: 0,
  hangMs: 1000,
};

const childModule = fileURLToPath(new URL('./child.ts', import.meta.url));

/** How a child's run ended: it went through `end`, or input `failed` hung or killed it. */
interface ChildEnd {
  next: number;
  failed?: { index: number; signature: string; error: string };
}

/** Runs one child process over [start, end) and says where it stopped. */
function runChild(
  target: string,
  options: FuzzOptions,
  start: number,
  end: number,
  workDir: string,
  report: TargetReport,
): Promise<ChildEnd> {
  const known = JSON.stringify(report.crashes.map((c) => c.signature));
  const args = [target, options.seed, start, end, options.hangMs, workDir, known].map(String);
  const child = fork(childModule, args, {
    execArgv: ['--import', 'tsx', '--max-old-space-size=2048', '--stack-size=984'],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  // a child in an endless loop cannot see its parent go: kill it when this process exits
  const killChild = () => child.kill('SIGKILL');
  process.on('exit', killChild);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  return new Promise((resolve) => {
    let at = -1; // watched from the first input on: starting up and setting up take their time
    let ended = false;
    let lastMessage = Date.now();
    let hung = false;
    const watchdog = setInterval(() => {
      if (at >= 0 && Date.now() - lastMessage > options.hangMs + 1000) {
        hung = true;
        child.kill('SIGKILL');
      }
    }, 100);
    child.on('message', (message: FromChild) => {
      lastMessage = Date.now();
      if (message.type === 'at') {
        at = message.index;
      } else if (message.type === 'done') {
        report.inputs++;
        for (const label of message.labels) report.counts[label] = (report.counts[label] ?? 0) + 1;
      } else if (message.type === 'crash') {
        const seen = report.crashes.find((c) => c.signature === message.crash.signature);
        if (seen) seen.count++;
        else report.crashes.push(message.crash);
      } else if (message.type === 'again') {
        const seen = report.crashes.find((c) => c.signature === message.signature);
        if (seen) seen.count++;
      } else {
        ended = true;
      }
    });
    child.on('exit', (code, signal) => {
      clearInterval(watchdog);
      process.off('exit', killChild);
      if (ended) return resolve({ next: end });
      const why = hung
        ? {
            signature: `hang: no answer within ${options.hangMs} ms`,
            error: `killed after ${options.hangMs + 1000} ms`,
          }
        : {
            signature: `process died (${signal ?? `exit code ${code}`})`,
            error: stderr.trim().split('\n').slice(0, 12).join('\n'),
          };
      const index = Math.max(at, start);
      resolve({ next: index + 1, failed: { index, ...why } });
    });
  });
}

/** Runs every target in turn and reports what happened (to `onReport` too, as each target ends). */
export async function fuzz(
  options: FuzzOptions,
  onReport: (report: TargetReport) => void = () => undefined,
): Promise<TargetReport[]> {
  const reports: TargetReport[] = [];
  // in memory where the system has it: the safetensors target writes a file per input
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const workDir = await mkdtemp(path.join(base, 'layercut-fuzz-'));
  try {
    for (const name of options.targets) {
      const target = await loadTarget(name);
      let setUp = false;
      const report: TargetReport = {
        target: name,
        seed: options.seed,
        inputs: 0,
        counts: {},
        crashes: [],
        seconds: 0,
      };
      const began = performance.now();
      const end = options.from + options.count;
      let start = options.from;
      while (start < end) {
        const { next, failed } = await runChild(name, options, start, end, workDir, report);
        if (failed) {
          // the child never reported this input: count it here, as a crash (not shrunk)
          report.inputs++;
          report.counts['crash'] = (report.counts['crash'] ?? 0) + 1;
          const seen = report.crashes.find((c) => c.signature === failed.signature);
          if (!setUp) {
            // to make the input again here, as the child made it
            await mkdir(path.join(workDir, 'main'));
            await target.setup?.(path.join(workDir, 'main'));
            setUp = true;
          }
          const shown = target.show(makeInput(target, options.seed, failed.index));
          if (seen) seen.count++;
          else
            report.crashes.push({
              target: name,
              seed: options.seed,
              ...failed,
              input: shown,
              minimal: shown,
              count: 1,
            });
        }
        start = next;
      }
      if (setUp) await target.teardown?.();
      report.seconds = (performance.now() - began) / 1000;
      reports.push(report);
      onReport(report);
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  return reports;
}

/** The report as printed: counts per outcome, then each crash with how to replay it. */
export function formatReport(report: TargetReport): string {
  const lines = [
    `${report.target}: ${report.inputs} inputs, seed ${report.seed}, ${report.seconds.toFixed(1)} s`,
  ];
  const labels = Object.entries(report.counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  for (const [label, n] of labels) lines.push(`  ${String(n).padStart(8)}  ${label}`);
  if (report.crashes.length === 0) lines.push('  no crashes');
  for (const crash of report.crashes) {
    lines.push(
      `  CRASH ${crash.signature} (${crash.count} input${crash.count === 1 ? '' : 's'})`,
      `    replay: npm run fuzz -- --target ${crash.target} --seed ${crash.seed} --from ${crash.index} --count 1`,
      `    input:   ${crash.input}`,
      `    minimal: ${crash.minimal}`,
      ...crash.error.split('\n').map((line) => `    ${line}`),
    );
  }
  return lines.join('\n');
}

function parseArgs(args: string[]): FuzzOptions {
  const options = { ...DEFAULT_OPTIONS, targets: [] as string[] };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = args[++i];
    const number = Number(value);
    const whole = value !== undefined && Number.isSafeInteger(number) && number >= 0;
    if (flag === '--target' && value) options.targets.push(...value.split(','));
    else if (flag === '--seed' && whole) options.seed = number;
    else if (flag === '--count' && whole) options.count = number;
    else if (flag === '--from' && whole) options.from = number;
    else if (flag === '--hang-ms' && whole && number > 0) options.hangMs = number;
    else {
      throw new Error(
        `fuzz: cannot use ${flag} ${value ?? ''}: options are --seed N, --count N, --from I, --hang-ms N, ` +
          `--target ${TARGET_NAMES.join('|')}`,
      );
    }
  }
  if (options.targets.length === 0) options.targets = TARGET_NAMES;
  return options;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = parseArgs(process.argv.slice(2));
  const reports = await fuzz(options, (report) => console.log(formatReport(report)));
  process.exitCode = reports.some((r) => r.crashes.length > 0) ? 1 : 0;
}
