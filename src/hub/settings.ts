/**
 * Hub client settings, read from the same environment variables the Python
 * `huggingface_hub` library honours, so both share one cache and one configuration:
 *
 *   HF_ENDPOINT     base URL of the hub (a mirror, or a loopback server in tests)
 *   HF_TOKEN        access token (`hf_…`) for private or gated repositories
 *   HF_HUB_OFFLINE  `1`/`true`: never touch the network, read the cache only
 *   HF_HUB_CACHE    cache directory (else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`)
 *
 * `LAYERCUT_CACHE` (default `~/.cache/layercut`) holds layercut's own derived files.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HUB_URL } from '@huggingface/hub';
import { HubError } from './errors.js';

export interface HubSettings {
  /** Base URL of the hub, without a trailing slash. */
  endpoint: string;
  /** Access token sent as `Authorization: Bearer …`, if any. */
  token?: string;
  /** Read the cache only; a cache miss is a `HubError` of kind `offline-miss`. */
  offline: boolean;
  /** The Hugging Face hub cache directory (`models--org--name/…` folders). */
  cacheDir: string;
  /** layercut's own cache (listings of repository files, processed datasets). */
  layercutCacheDir: string;
  /** The fetch implementation (tests may count or delay requests). */
  fetch: typeof fetch;
}

/** True for the spellings of "on" the Python library accepts. */
function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
}

/** Settings from the environment, with explicit overrides taking precedence. */
export function hubSettings(
  overrides: Partial<HubSettings> = {},
  env: NodeJS.ProcessEnv = process.env,
): HubSettings {
  const endpoint = (overrides.endpoint ?? env['HF_ENDPOINT'] ?? HUB_URL).replace(/\/+$/, '');
  const token = overrides.token ?? (env['HF_TOKEN'] || env['HUGGING_FACE_HUB_TOKEN'] || undefined);
  if (token !== undefined && !token.startsWith('hf_')) {
    throw new HubError(
      'bad-setting',
      'the hub access token does not start with "hf_"',
      'set HF_TOKEN to a user access token from your hub account settings, or unset it',
    );
  }
  return {
    endpoint,
    token,
    offline: overrides.offline ?? isTruthy(env['HF_HUB_OFFLINE']),
    cacheDir: overrides.cacheDir ?? hubCacheFromEnv(env),
    layercutCacheDir: overrides.layercutCacheDir ?? layercutCacheDir(env),
    fetch: overrides.fetch ?? globalThis.fetch,
  };
}

/** The hub cache directory the environment selects (the same rules as `huggingface_hub`). */
export function hubCacheFromEnv(env: NodeJS.ProcessEnv): string {
  const home = env['HF_HOME'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'huggingface');
  return env['HF_HUB_CACHE'] ?? env['HUGGINGFACE_HUB_CACHE'] ?? join(home, 'hub');
}

/** layercut's own cache directory: `$LAYERCUT_CACHE`, else `~/.cache/layercut`. */
export function layercutCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['LAYERCUT_CACHE'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'layercut');
}
