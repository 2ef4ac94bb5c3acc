/**
 * The one error type of the hub client. Each has a `kind` saying what went wrong (tests
 * and callers branch on it); the message names the repository and file it is about.
 */
import { LayercutError } from '../errors.js';

export type HubErrorKind =
  /** The repository does not exist, or is private/gated and no (valid) token was sent. */
  | 'repo-not-found'
  /** The revision (branch, tag or commit) does not exist in the repository. */
  | 'revision-not-found'
  /** A requested file is not in the repository at that revision. */
  | 'file-not-found'
  /** No file in the repository matches the requested patterns. */
  | 'no-match'
  /** The hub refused the token, or the repository needs one. */
  | 'unauthorized'
  /** Offline mode (`HF_HUB_OFFLINE=1`) and the cache lacks what was asked for. */
  | 'offline-miss'
  /** The connection failed or closed before the whole file arrived. */
  | 'interrupted'
  /** The hub did not answer within `HF_HUB_ETAG_TIMEOUT`, or a download stalled past `HF_HUB_DOWNLOAD_TIMEOUT`. */
  | 'timeout'
  /**
   * A value that would become a cache path is unsafe: a hub answer's file path, blob id or
   * commit that could leave the cache, or a cached link that resolves outside it.
   */
  | 'unsafe-path'
  /** The downloaded bytes do not match the size or hash the hub announced. */
  | 'integrity'
  /** The hub answered with an unexpected status or a malformed body (or endless pages). */
  | 'bad-response'
  /** A setting is wrong (a token not starting with `hf_`, a path escaping the cache, …). */
  | 'bad-setting';

export class HubError extends LayercutError {
  override name = 'HubError';
  constructor(
    readonly kind: HubErrorKind,
    message: string,
    hint?: string,
  ) {
    super(message, hint);
  }
}
