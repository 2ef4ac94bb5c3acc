/**
 * `layercut worker --queue redis://host:port`: a worker for sweeps sent to a Redis queue with
 * `layercut run <file> --queue …`. Start one per GPU on any machine that reaches the Redis
 * server; each takes runs one at a time, fetches the model files through its own caches, and
 * sends the results back to the coordinator. See src/queue/worker.ts.
 *
 * Ctrl-C or SIGTERM: the run in progress stops at its next training step and goes back to the
 * queue for another worker; exit code 0. A second Ctrl-C leaves at once (exit 130; the run is
 * picked up as a stalled job once its lock runs out).
 */
import { layercutEnv } from '../env.js';
import { ExitCode, LayercutError } from '../errors.js';
import { DEFAULT_QUEUE_NAME } from '../queue/address.js';
import { ProgressPrinter } from '../runner/progress.js';
import { parseBackendName } from '../runtime/backend.js';
import { backendChoices, defineCommand, parseCount } from './options.js';

const usage = `usage: layercut worker --queue redis://host:port [options]

Runs the runs of sweeps sent to the queue (layercut run <file> --queue …), one at a time, until
stopped. Results go back to the coordinator, which stores them. Model files are fetched here,
through this machine's caches (the plan's model source), never sent through Redis.

options:
  --queue URL          the Redis server (required): redis://[user:password@]host:port[/db]
  --queue-name NAME    the queue (default: ${DEFAULT_QUEUE_NAME})
  --gpu I              bind this worker to GPU I (sets LAYERCUT_GPU=I and CUDA_VISIBLE_DEVICES=I
                       for its run process, which prints the device it got); one worker per GPU
  --backend NAME       ${backendChoices()} (default: what each plan says)
  --name NAME          how the worker is shown (default: host-pid, with -gpuI)
  --lock-ms MS         a run's lock; a worker that stops renewing it (killed, machine down)
                       loses its run to another worker after this long (default 30000)
  --stalled-ms MS      how often to look for runs of dead workers (default 30000)
  --max-stalled N      how often a run may lose its worker before it fails (default 1)
  --heartbeat-ms MS    how often the worker announces itself for \`layercut status\`; it
                       disappears from there 3 heartbeats after it stops (default 2000)

Ctrl-C or SIGTERM stops the worker: its run goes back to the queue (exit 0).

examples:
  layercut worker --queue redis://10.0.0.5:6379 --gpu 0 --backend webgpu
  layercut status --queue redis://10.0.0.5:6379      # the queue and its workers`;

export const workerCommand = defineCommand('worker', {
  usage,
  options: {
    queue: { type: 'string' },
    'queue-name': { type: 'string', default: DEFAULT_QUEUE_NAME },
    gpu: { type: 'string' },
    backend: { type: 'string' },
    name: { type: 'string' },
    'lock-ms': { type: 'string' },
    'stalled-ms': { type: 'string' },
    'max-stalled': { type: 'string' },
    'heartbeat-ms': { type: 'string' },
  },
  async run({ values }) {
    if (values.queue === undefined) {
      throw new LayercutError('--queue is required', 'layercut worker --queue redis://host:6379');
    }
    const { runQueueWorker } = await import('../queue/worker.js');
    const controller = new AbortController();
    let signals = 0;
    const onSignal = (): void => {
      signals++;
      if (signals > 1) {
        process.stderr.write('\nlayercut worker: stopped\n');
        process.exit(ExitCode.interrupted);
      }
      process.stderr.write(
        '\nlayercut worker: stopping; the run in progress goes back to the queue (Ctrl-C again to leave at once)…\n',
      );
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const printer = new ProgressPrinter();
    const { verbose } = layercutEnv();
    try {
      await runQueueWorker({
        url: values.queue,
        queueName: values['queue-name'],
        signal: controller.signal,
        onEvent: printer.handle,
        ...(values.gpu !== undefined ? { gpu: parseCount(values.gpu, '--gpu', 0) } : {}),
        ...(values.backend !== undefined ? { backend: parseBackendName(values.backend, '--backend') } : {}),
        ...(values.name !== undefined ? { name: values.name } : {}),
        ...(values['lock-ms'] !== undefined
          ? { lockMs: parseCount(values['lock-ms'], '--lock-ms', 100) }
          : {}),
        ...(values['stalled-ms'] !== undefined
          ? { stalledMs: parseCount(values['stalled-ms'], '--stalled-ms', 100) }
          : {}),
        ...(values['max-stalled'] !== undefined
          ? { maxStalled: parseCount(values['max-stalled'], '--max-stalled', 0) }
          : {}),
        ...(values['heartbeat-ms'] !== undefined
          ? { heartbeatMs: parseCount(values['heartbeat-ms'], '--heartbeat-ms', 100) }
          : {}),
        ...(verbose ? { onStderr: (line: string) => printer.workerLine('run process', line) } : {}),
      });
      printer.finish();
      return ExitCode.ok;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
});
