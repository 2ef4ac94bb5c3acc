/**
 * Rewrites of the shaders tfjs-backend-webgpu builds from layercut's programs.
 *
 * WGSL directives (`enable f16;`, `enable chromium_experimental_subgroup_matrix;`,
 * `diagnostic(off, …);`) must come before every declaration of a shader module. tfjs-backend-webgpu
 * builds each shader as its own header (bindings, uniforms, helpers) followed by the program's
 * code, so a program cannot put a directive first. Layercut's own programs write their directives
 * in their code, and the device's `createShaderModule` is wrapped to move them to the top.
 */

const directiveLine = /^[ \t]*(?:enable|requires|diagnostic)\b[^;\n]*;[ \t]*$/gm;

/** The shader with its directive lines moved to the top (once each); unchanged when it has none. */
export function hoistShaderDirectives(code: string): string {
  const found = code.match(directiveLine);
  if (!found) return code;
  const directives = [...new Set(found.map((line) => line.trim()))];
  return `${directives.join('\n')}\n${code.replace(directiveLine, '')}`;
}

/**
 * tfjs declares every input of a program read-only. A program with a second output (the
 * attention's row log-sum-exp) takes it as an input and writes it: a line
 * `// layercut:writes NAME` in its code makes the binding of input NAME read_write.
 */
export function writesBinding(name: string): string {
  return `// layercut:writes ${name}`;
}

const writesLine = /^[ \t]*\/\/ layercut:writes (\w+)[ \t]*$/gm;

/** The shader with the inputs its `writesBinding` lines name declared read_write. */
export function applyWritableBindings(code: string): string {
  let out = code;
  for (const [, name] of code.matchAll(writesLine)) {
    out = out.replace(new RegExp(`var<storage, read> ${name}\\s*:`), `var<storage, read_write> ${name} :`);
  }
  return out;
}

/** Makes `device.createShaderModule` hoist directives and apply `writesBinding`; safe to call more than once. */
export function installDirectiveHoisting(device: GPUDevice): void {
  const marked = device as GPUDevice & { layercutHoistsDirectives?: true };
  if (marked.layercutHoistsDirectives) return;
  const createShaderModule = device.createShaderModule.bind(device);
  marked.createShaderModule = (descriptor: GPUShaderModuleDescriptor) =>
    createShaderModule({
      ...descriptor,
      code: applyWritableBindings(hoistShaderDirectives(descriptor.code)),
    });
  marked.layercutHoistsDirectives = true;
}
