/**
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

/** Makes `device.createShaderModule` hoist directives; safe to call more than once. */
export function installDirectiveHoisting(device: GPUDevice): void {
  const marked = device as GPUDevice & { layercutHoistsDirectives?: true };
  if (marked.layercutHoistsDirectives) return;
  const createShaderModule = device.createShaderModule.bind(device);
  marked.createShaderModule = (descriptor: GPUShaderModuleDescriptor) =>
    createShaderModule({ ...descriptor, code: hoistShaderDirectives(descriptor.code) });
  marked.layercutHoistsDirectives = true;
}
