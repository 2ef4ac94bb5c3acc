/**
 * Where a sweep on a Redis queue stands, for `layercut status --queue`: jobs per state, the run
 * each active job is on with its worker and progress, and the workers' announcements (name,
 * host, GPU, what each is doing). The store's side is in store-status.ts.
 */
import { Queue, type Job } from 'bullmq';

import type { RunProgress } from '../experiment/run.js';
import {
  checkQueueName,
  DEFAULT_QUEUE_NAME,
  isRunJobData,
  parseRedisUrl,
  runIdOfJob,
  workerKeyPrefix,
  type RunJobData,
  type WorkerInfo,
} from './address.js';
import { progressText } from '../runner/progress.js';
import { runLabel as label } from '../results/rows.js';
import { bullConnection, checkRedis, openRedis } from './redis.js';

export interface QueueStatus {
  queue: string;
  address: string;
  /** Jobs per state (waiting includes prioritized: both wait for a worker). */
  counts: { waiting: number; delayed: number; active: number; completed: number; failed: number };
  active: { id: string; label: string; worker: string; attempt: number; doing: string | null }[];
  workers: WorkerInfo[];
}

/** The queue's side: job counts, active jobs, live workers. */
export async function queueStatus(url: string, queueName = DEFAULT_QUEUE_NAME): Promise<QueueStatus> {
  const address = parseRedisUrl(url);
  checkQueueName(queueName);
  await checkRedis(address);
  const queue = new Queue<RunJobData, unknown>(queueName, { connection: bullConnection(address) });
  queue.on('error', () => undefined);
  const redis = openRedis(address);
  redis.on('error', () => undefined);
  try {
    const counts = await queue.getJobCounts(
      'waiting',
      'prioritized',
      'delayed',
      'active',
      'completed',
      'failed',
    );
    const active = ((await queue.getActive()) as Job<RunJobData, unknown>[]).flatMap((job) => {
      const id = runIdOfJob(job.id);
      if (!id || !isRunJobData(job.data)) return [];
      const progress = job.progress as { progress?: RunProgress } | number | undefined;
      const doing =
        typeof progress === 'object' && progress?.progress ? progressText(progress.progress) : null;
      return [
        {
          id,
          label: label(job.data.plan),
          worker: job.processedBy ?? '?',
          attempt: job.attemptsMade + 1,
          doing,
        },
      ];
    });
    await redis.connect();
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${workerKeyPrefix(queueName)}*`, 'COUNT', 100);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    const values = keys.length ? await redis.mget(...keys) : [];
    const workers = values
      .flatMap((value) => (value ? [JSON.parse(value) as WorkerInfo] : []))
      .sort((a, b) => a.name.localeCompare(b.name));
    return {
      queue: queueName,
      address: address.display,
      counts: {
        waiting: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0),
        delayed: counts['delayed'] ?? 0,
        active: counts['active'] ?? 0,
        completed: counts['completed'] ?? 0,
        failed: counts['failed'] ?? 0,
      },
      active,
      workers,
    };
  } finally {
    redis.disconnect();
    await queue.close();
  }
}

/** The queue's status as lines. */
export function formatQueueStatus(status: QueueStatus): string {
  const c = status.counts;
  const lines = [
    `queue '${status.queue}' at ${status.address}: ${c.waiting} waiting, ${c.active} running, ` +
      `${c.delayed} delayed, ${c.completed} done (not collected yet), ${c.failed} failed (not collected yet)`,
  ];
  for (const job of status.active) {
    lines.push(
      `  running ${job.id}  ${job.label}  on ${job.worker}${job.attempt > 1 ? ` (attempt ${job.attempt})` : ''}` +
        (job.doing ? `: ${job.doing}` : ''),
    );
  }
  lines.push(`${status.workers.length} worker${status.workers.length === 1 ? '' : 's'}:`);
  for (const w of status.workers) {
    const where = `${w.host} pid ${w.pid}${w.gpu === null ? '' : ` GPU ${w.gpu}`}`;
    const what = w.state === 'running' ? `running ${w.runId}${w.doing ? ` (${w.doing})` : ''}` : w.state;
    lines.push(`  ${w.name}  ${where}  ${what}  · ${w.done} done, ${w.failed} failed`);
  }
  return lines.join('\n');
}
