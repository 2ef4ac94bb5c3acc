/**
 * Catching a WebGPU device's WGSL compilation and validation errors, to check generated programs
 * (test/runtime/wgsl.test.ts on Dawn's null backend, bench/gpu-suite.ts on a GPU).
 *
 * WebGPU never throws for an invalid shader or pipeline: it returns an invalid object and reports
 * the error later, through `getCompilationInfo()` (a shader module's messages, with line and
 * column), an error scope that was open when the call was made (`popErrorScope`), or, where no
 * scope was open, the device's `uncapturederror` event. A watch collects all three:
 *
 *   const watch = watchDeviceErrors(device);
 *   const { errors } = await watch.check('layerNorm', async () => { …run it, read a result back… });
 *
 * Errors of commands recorded into an encoder surface when the encoder is finished, which tfjs
 * does when it submits: `check`'s function must read a result back (that submits tfjs's queue).
 */

/** One error, with the check it arose in ('' for errors outside any check). */
export interface DeviceError {
  check: string;
  message: string;
}

export interface CheckResult<T> {
  value?: T;
  errors: string[];
  /** Labels of the shader modules created while it ran (tfjs labels a program's by its class name). */
  modules: string[];
}

export interface DeviceErrorWatch {
  /**
   * Runs `fn` inside error scopes for validation, internal and out-of-memory errors and returns
   * the errors raised while it ran: those of its scopes and the error messages of the shader
   * modules it created. `value` is what `fn` returned, undefined when it threw (its error is
   * then the last entry of `errors`).
   */
  check<T>(name: string, fn: () => Promise<T>): Promise<CheckResult<T>>;
  /** Errors that reached no scope (the device's uncapturederror event) since the watch began. */
  readonly uncaptured: DeviceError[];
  /** Warnings of the shader modules created since the watch began (not errors). */
  readonly warnings: DeviceError[];
  /** Removes the watch from the device (once; later calls do nothing). */
  stop(): void;
}

const scopes: GPUErrorFilter[] = ['validation', 'internal', 'out-of-memory'];

/** The first lines of a Dawn message (its trailing "While calling …" context kept short). */
function shorten(message: string): string {
  const lines = message.split('\n').filter((line) => line.trim() !== '');
  return lines.slice(0, 8).join(' | ');
}

/** Starts collecting `device`'s errors (see the file comment). */
export function watchDeviceErrors(device: GPUDevice): DeviceErrorWatch {
  const uncaptured: DeviceError[] = [];
  const warnings: DeviceError[] = [];
  let current = '';
  let pending: Promise<void>[] = [];
  let compileErrors: string[] = [];
  let modules: string[] = [];
  let stopped = false;

  const onError = (event: Event) => {
    const error = (event as GPUUncapturedErrorEvent).error;
    uncaptured.push({ check: current, message: shorten(error.message) });
  };
  device.addEventListener('uncapturederror', onError);

  const target = device as GPUDevice & { createShaderModule: GPUDevice['createShaderModule'] };
  const createShaderModule = target.createShaderModule;
  target.createShaderModule = (descriptor: GPUShaderModuleDescriptor) => {
    const module = createShaderModule.call(device, descriptor);
    const check = current;
    modules.push(descriptor.label ?? '');
    pending.push(
      module.getCompilationInfo().then((info) => {
        for (const m of info.messages) {
          const text = `${descriptor.label ?? 'shader'}:${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`;
          if (m.type === 'error') compileErrors.push(text);
          else warnings.push({ check, message: text });
        }
      }),
    );
    return module;
  };

  return {
    uncaptured,
    warnings,
    async check<T>(name: string, fn: () => Promise<T>) {
      current = name;
      pending = [];
      compileErrors = [];
      modules = [];
      for (const filter of scopes) device.pushErrorScope(filter);
      const errors: string[] = [];
      let value: T | undefined;
      try {
        value = await fn();
      } catch (error) {
        errors.push(`threw: ${shorten(error instanceof Error ? error.message : String(error))}`);
      }
      await device.queue.onSubmittedWorkDone();
      for (let i = scopes.length - 1; i >= 0; i--) {
        const error = await device.popErrorScope();
        if (error) errors.unshift(`${scopes[i]}: ${shorten(error.message)}`);
      }
      await Promise.all(pending);
      errors.unshift(...compileErrors);
      current = '';
      return { value, errors, modules };
    },
    stop() {
      if (stopped) return;
      stopped = true;
      device.removeEventListener('uncapturederror', onError);
      target.createShaderModule = createShaderModule;
    },
  };
}
