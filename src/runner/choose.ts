/**
 * Which executor runs a sweep, from the options `layercut run` and the notebook's `run()` both
 * take: none of them → in this process; `workers` / `gpus` → a pool of worker processes on this
 * machine; `queue` → a Redis queue that `layercut worker`s anywhere take runs from. Mistakes
 * (both at once, `retries` with neither, a URL that is no redis:// URL) are caught here, before
 * anything compiles or runs.
 */
import { LayercutError } from '../errors.js';
import { checkQueueName, DEFAULT_QUEUE_NAME, parseRedisUrl } from '../queue/address.js';
import { workerPool } from '../queue/pool.js';
import type { Executor } from './executor.js';
import { inProcess } from './in-process.js';

export interface ExecutorChoice {
  /** Worker processes on this machine (default with `gpus`: one per GPU). */
  workers?: number | undefined;
  /** GPU indices; worker i is bound to gpus[i mod gpus.length]. */
  gpus?: readonly number[] | undefined;
  /** Attempts after a run's first failure, with workers or a queue (default 1). */
  retries?: number | undefined;
  /** A Redis server (redis://host:port): the runs go to its queue, for `layercut worker`s. */
  queue?: string | undefined;
  /** The queue's name (default 'layercut'); the workers must name the same. */
  queueName?: string | undefined;
  /** Each line a worker process writes to stderr (workers; default: kept for crash reports only). */
  onWorkerStderr?: ((worker: string, line: string) => void) | undefined;
}

/** The executor the choice names; `option` spells an option as the caller's user writes it ('--workers', 'workers'). */
export function chooseExecutor(
  choice: ExecutorChoice,
  option: (name: 'workers' | 'gpus' | 'queue' | 'retries') => string = (name) => name,
): Executor {
  const local = choice.workers !== undefined || choice.gpus !== undefined;
  if (local && choice.queue !== undefined) {
    throw new LayercutError(
      `${option('queue')} sends the runs to \`layercut worker\`s; ${option('workers')} and ${option('gpus')} start workers here: pick one`,
      'on each GPU machine: layercut worker --queue URL --gpu 0',
    );
  }
  if (choice.retries !== undefined && !local && choice.queue === undefined) {
    throw new LayercutError(
      `${option('retries')} applies to ${option('workers')}, ${option('gpus')} and ${option('queue')}`,
      `add ${option('workers')} 1 to retry in a worker process`,
    );
  }
  const retries = choice.retries === undefined ? {} : { retries: choice.retries };
  const queueName = checkQueueName(choice.queueName ?? DEFAULT_QUEUE_NAME);
  if (choice.queue !== undefined) {
    const url = choice.queue;
    parseRedisUrl(url); // a mistyped address is an error before anything runs
    return {
      async execute(runs, options) {
        // Loaded only here: bullmq and ioredis are not needed otherwise.
        const { redisQueue } = await import('../queue/coordinator.js');
        return redisQueue({ url, queueName, ...retries }).execute(runs, options);
      },
    };
  }
  if (local) {
    return workerPool({
      ...(choice.workers !== undefined ? { workers: choice.workers } : {}),
      ...(choice.gpus !== undefined ? { gpus: choice.gpus } : {}),
      ...(choice.onWorkerStderr ? { onWorkerStderr: choice.onWorkerStderr } : {}),
      ...retries,
    });
  }
  return inProcess();
}
