/**
 * Hub client settings, read from the same environment variables the Python
 * `huggingface_hub` library honours, so both share one cache and one configuration:
 *
 *   HF_ENDPOINT     base URL of the hub (a mirror, or a loopback server in tests)
 *   HF_TOKEN        access token (`hf_…`) for private or gated repositories
 *   HF_HUB_OFFLINE  `1`/`true`: never touch the network, read the cache only
 *   HF_HUB_CACHE    cache directory (else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`)
 *   HF_HUB_ETAG_TIMEOUT      seconds a metadata request (commit, listing page, paths info) may
 *                            take, its whole answer included (default 10)
 *   HF_HUB_DOWNLOAD_TIMEOUT  seconds a file download may go without receiving a byte (default
 *                            10); a stall limit, not a limit on the whole download
 *
 * `LAYERCUT_CACHE` (default `~/.cache/layercut`) holds layercut's own derived files.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HUB_URL } from '@huggingface/hub';
import { layercutEnv } from '../env.js';
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
  /** Seconds a metadata request may take, body included (`HF_HUB_ETAG_TIMEOUT`). */
  etagTimeoutSeconds: number;
  /** Seconds a file download may go without a byte arriving (`HF_HUB_DOWNLOAD_TIMEOUT`). */
  downloadTimeoutSeconds: number;
  /** Most pages a repository listing may have before it is refused as endless. */
  maxListingPages: number;
  /** The fetch implementation (tests may count or delay requests). */
  fetch: typeof fetch;
}

/** `huggingface_hub`'s defaults for `HF_HUB_ETAG_TIMEOUT` and `HF_HUB_DOWNLOAD_TIMEOUT`. */
const DEFAULT_TIMEOUT_SECONDS = 10;
/** A listing of 1000 pages (the hub sends 1000 entries a page) is a million files. */
const DEFAULT_MAX_LISTING_PAGES = 1000;

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
    etagTimeoutSeconds: positiveNumber(
      'HF_HUB_ETAG_TIMEOUT',
      overrides.etagTimeoutSeconds ?? env['HF_HUB_ETAG_TIMEOUT'],
      DEFAULT_TIMEOUT_SECONDS,
    ),
    downloadTimeoutSeconds: positiveNumber(
      'HF_HUB_DOWNLOAD_TIMEOUT',
      overrides.downloadTimeoutSeconds ?? env['HF_HUB_DOWNLOAD_TIMEOUT'],
      DEFAULT_TIMEOUT_SECONDS,
    ),
    maxListingPages: positiveNumber('maxListingPages', overrides.maxListingPages, DEFAULT_MAX_LISTING_PAGES),
    fetch: overrides.fetch ?? globalThis.fetch,
  };
}

/** A setting that must be a positive number (a blank variable means the default). */
function positiveNumber(name: string, value: number | string | undefined, fallback: number): number {
  if (value === undefined || (typeof value === 'string' && value.trim() === '')) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new HubError(
      'bad-setting',
      `${name} is ${JSON.stringify(value)}, not a positive number`,
      `set ${name} to a positive number (seconds for the timeouts), or unset it for the default ${fallback}`,
    );
  }
  return parsed;
}

/** The hub cache directory the environment selects (the same rules as `huggingface_hub`). */
export function hubCacheFromEnv(env: NodeJS.ProcessEnv): string {
  const home = env['HF_HOME'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'huggingface');
  return env['HF_HUB_CACHE'] ?? env['HUGGINGFACE_HUB_CACHE'] ?? join(home, 'hub');
}

/** layercut's own cache directory: `$LAYERCUT_CACHE`, else `~/.cache/layercut` (src/env.ts). */
export function layercutCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return layercutEnv(env).cache;
}
