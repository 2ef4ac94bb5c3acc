/**
 * `layercut status`: where a sweep stands — runs per status in the results store (and which
 * are running, held by which process), and with `--queue` the Redis queue's jobs, the run each
 * active job is on, and every live worker with what it is doing.
 */
import { existsSync } from 'node:fs';

import { ExitCode } from '../errors.js';
import { DEFAULT_QUEUE_NAME } from '../queue/address.js';
import { formatStoreStatus, storeStatus } from '../queue/store-status.js';
import { DEFAULT_DB_FILE, openStoreReadOnly } from '../results/store.js';
import { defineCommand } from './options.js';

const usage = `usage: layercut status [--db FILE] [--queue redis://host:port] [--json]

Shows a sweep's progress: runs queued, running, done and failed in the results store, and with
--queue the queue's jobs and its workers (name, host, GPU, the run each is on and how far).

options:
  --db FILE            results store (default: ${DEFAULT_DB_FILE}; skipped with --queue when absent)
  --queue URL          also the Redis queue: redis://host:port
  --queue-name NAME    the queue (default: ${DEFAULT_QUEUE_NAME})
  --json               print JSON instead of lines

examples:
  layercut status
  layercut status --queue redis://10.0.0.5:6379 --db paper.db`;

export const statusCommand = defineCommand('status', {
  usage,
  options: {
    db: { type: 'string' },
    queue: { type: 'string' },
    'queue-name': { type: 'string', default: DEFAULT_QUEUE_NAME },
    json: { type: 'boolean', default: false },
  },
  async run({ values }) {
    const db = values.db ?? DEFAULT_DB_FILE;
    // With --queue alone, a missing default store is not an error: the queue may be all there is here.
    const readStore = values.db !== undefined || values.queue === undefined || existsSync(db);
    let store;
    if (readStore) {
      const opened = openStoreReadOnly(db);
      try {
        store = storeStatus(opened);
      } finally {
        opened.close();
      }
    }
    let queue;
    if (values.queue !== undefined) {
      // Loaded only here: bullmq and ioredis are not needed otherwise.
      const { formatQueueStatus, queueStatus } = await import('../queue/queue-status.js');
      queue = { status: await queueStatus(values.queue, values['queue-name']), format: formatQueueStatus };
    }
    if (values.json) {
      console.log(JSON.stringify({ store: store ?? null, queue: queue?.status ?? null }, null, 2));
      return ExitCode.ok;
    }
    if (store) console.log(formatStoreStatus(store));
    if (queue) console.log(queue.format(queue.status));
    return ExitCode.ok;
  },
});
