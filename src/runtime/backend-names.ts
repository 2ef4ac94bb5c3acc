/**
 * The compute backends' names, declared once: the runtime starts them (backend.ts), the plan
 * option `backend` and the DSL's `Backend` type are checked against them. No imports, so the
 * DSL's types stay light (no tfjs).
 */

/** The backends layercut can run tfjs on, fastest first: the order `auto` tries them in. */
export const concreteBackendNames = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type ConcreteBackendName = (typeof concreteBackendNames)[number];

/** Every accepted backend name, `auto` first. */
export const backendNames = ['auto', ...concreteBackendNames] as const;
export type BackendName = (typeof backendNames)[number];
