import { create, globals } from 'webgpu';
for (const [flags, opts] of [[[], {}], [[], {forceFallbackAdapter: true}], [['backend=vulkan'], {forceFallbackAdapter: true}], [['adapter=llvmpipe'], {}]]) {
  try {
  const gpu = create(flags);
  const a = await gpu.requestAdapter(opts);
  console.log(flags, opts, a && a.info.device, a && a.info.description, a && [...a.features].join(' '));
  } catch (e) { console.log(flags, 'ERR', e.message.slice(0, 400)); }
}
process.exit(0);
