/**
 * The hub client: download model and dataset repository files into the Hugging Face
 * cache (shared with Python), honouring HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, HF_HUB_CACHE.
 */
export { downloadRepoFiles, listRepo } from './download.js';
export type {
  DownloadProgress,
  DownloadRepoFilesOptions,
  DownloadedRepoFiles,
  ListRepoOptions,
  RepoListing,
} from './download.js';
export { HubError } from './errors.js';
export type { HubErrorKind } from './errors.js';
export { hubSettings, layercutCacheDir } from './settings.js';
export type { HubSettings } from './settings.js';
export { RepoCache, isCommitHash, repoFolderName } from './cache.js';
export type { RepoRef, RepoType } from './cache.js';
export type { RepoFileEntry } from './hub-api.js';
export { listRepoFiles } from './hub-api.js';
