/**
 * The hub client against a loopback hub: HF cache layout, cache reuse without requests,
 * offline mode, interrupted downloads, clear errors for missing repos and files, tokens.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HubError, downloadRepoFiles, hubSettings, listRepo } from '../../src/hub/index.js';
import type { DownloadProgress, HubSettings } from '../../src/hub/index.js';
import { LoopbackHub } from '../helpers/hub-server.js';

for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_HUB_OFFLINE', 'HF_ENDPOINT'])
  delete process.env[name];

let hub: LoopbackHub;
let root: string;
let settings: Partial<HubSettings>;

/** 600 KiB of deterministic bytes: several network chunks and progress steps. */
const weights = Buffer.from(Array.from({ length: 600 * 1024 }, (_, i) => (i * 31 + 7) % 251));
const config = JSON.stringify({ n_layer: 2, n_embd: 8 });

async function writeTree(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'layercut-hub-'));
  hub = await LoopbackHub.start();
  await writeTree(join(root, 'served/tiny'), {
    'config.json': config,
    'tokenizer.json': '{"model":{}}',
    'model.safetensors': weights,
    'nested/extra.json': '{}',
  });
  hub.serve({ repoType: 'model', repo: 'org/tiny', dir: join(root, 'served/tiny') });
  await writeTree(join(root, 'served/bare'), { 'config.json': '{"bare":true}' });
  hub.serve({ repoType: 'model', repo: 'gpt-bare', dir: join(root, 'served/bare') });
});

after(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  // A fresh, empty cache for every test.
  const cache = await mkdtemp(join(root, 'cache-'));
  settings = {
    endpoint: hub.url,
    cacheDir: join(cache, 'hub'),
    layercutCacheDir: join(cache, 'layercut'),
    offline: false,
  };
  hub.requests.length = 0;
  hub.requiredToken = undefined;
  hub.pageSize = undefined;
});

describe('downloadRepoFiles', () => {
  test('stores files in the Hugging Face cache layout and reports progress', async () => {
    const events: DownloadProgress[] = [];
    const result = await downloadRepoFiles({
      repo: 'org/tiny',
      files: ['config.json', 'model.safetensors'],
      hub: settings,
      onProgress: (e) => events.push(e),
    });
    const commit = hub.commitOf('model', 'org/tiny');
    assert.equal(result.commit, commit);
    assert.equal(result.fromCache, false);
    const repoDir = join(settings.cacheDir!, 'models--org--tiny');
    assert.equal(result.snapshotDir, join(repoDir, 'snapshots', commit));
    assert.equal(result.files['model.safetensors'], join(repoDir, 'snapshots', commit, 'model.safetensors'));
    assert.equal((await readFile(join(repoDir, 'refs', 'main'), 'utf8')).trim(), commit);

    // Snapshot entries are relative symlinks to blobs named by content hash.
    const sha256 = createHash('sha256').update(weights).digest('hex');
    const link = result.files['model.safetensors']!;
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.equal(await readlink(link), join('..', '..', 'blobs', sha256));
    assert.deepEqual(await readFile(link), weights);
    const gitSha1 = createHash('sha1').update(`blob ${config.length}\0${config}`).digest('hex');
    assert.deepEqual((await readdir(join(repoDir, 'blobs'))).sort(), [gitSha1, sha256].sort());
    assert.equal(await readFile(result.files['config.json']!, 'utf8'), config);

    // Progress: each file starts at 0 and ends 'done' at its size; overall adds up.
    const done = events.filter((e) => e.status === 'done');
    assert.deepEqual(
      done.map((e) => [e.path, e.loaded, e.total]),
      [
        ['config.json', config.length, config.length],
        ['model.safetensors', weights.length, weights.length],
      ],
    );
    assert.equal(done.at(-1)!.overallLoaded, config.length + weights.length);
    assert.equal(done.at(-1)!.overallTotal, config.length + weights.length);
    assert.ok(events.some((e) => e.status === 'downloading' && e.loaded > 0 && e.loaded < weights.length));
  });

  test('a second download of the same files makes no request', async () => {
    await downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: settings });
    const requestsAfterFirst = hub.requests.length;
    assert.equal(requestsAfterFirst, 3); // revision, paths-info, resolve
    const again = await downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: settings });
    assert.equal(hub.requests.length, requestsAfterFirst);
    assert.equal(again.fromCache, true);
    assert.equal(await readFile(again.files['config.json']!, 'utf8'), config);
    // refresh: asks the hub for the commit, but downloads nothing again.
    await downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: settings, refresh: true });
    assert.equal(hub.requestsMatching('/resolve/').length, 1);
  });

  test('patterns select files with fnmatch semantics, across paged listings', async () => {
    hub.pageSize = 2;
    const result = await downloadRepoFiles({ repo: 'org/tiny', patterns: ['*.json'], hub: settings });
    assert.deepEqual(Object.keys(result.files).sort(), [
      'config.json',
      'nested/extra.json',
      'tokenizer.json',
    ]);
    assert.ok(hub.requestsMatching('cursor=').length >= 2, 'the listing was fetched page by page');
    // The commit's listing is cached: the same patterns again need no request.
    const count = hub.requests.length;
    const again = await downloadRepoFiles({ repo: 'org/tiny', patterns: ['*.json'], hub: settings });
    assert.equal(hub.requests.length, count);
    assert.deepEqual(Object.keys(again.files).sort(), Object.keys(result.files).sort());
  });

  test('repositories without an organisation use /{name}/resolve', async () => {
    const result = await downloadRepoFiles({ repo: 'gpt-bare', files: ['config.json'], hub: settings });
    assert.equal(await readFile(result.files['config.json']!, 'utf8'), '{"bare":true}');
    assert.equal(hub.requestsMatching('/gpt-bare/resolve/').length, 1);
  });

  test('HF_HUB_OFFLINE=1 uses the cache and never the network', async () => {
    await downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: settings });
    hub.requests.length = 0;
    const offline = hubSettings({ ...settings, offline: undefined }, { HF_HUB_OFFLINE: '1' });
    assert.equal(offline.offline, true);
    const result = await downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: offline });
    assert.equal(result.fromCache, true);
    assert.equal(await readFile(result.files['config.json']!, 'utf8'), config);

    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', files: ['model.safetensors'], hub: offline }),
      (error: unknown) =>
        error instanceof HubError &&
        error.kind === 'offline-miss' &&
        error.message.includes("model repository 'org/tiny'") &&
        error.message.includes('model.safetensors') &&
        error.message.includes('HF_HUB_OFFLINE'),
    );
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/other', files: ['config.json'], hub: offline }),
      (error: unknown) =>
        error instanceof HubError && error.kind === 'offline-miss' && /never downloaded/.test(error.message),
    );
    assert.equal(hub.requests.length, 0);
  });

  test('an interrupted download leaves no cache entry and says what happened', async () => {
    hub.interrupt('model.safetensors', 1000);
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', files: ['model.safetensors'], hub: settings }),
      (error: unknown) =>
        error instanceof HubError &&
        error.kind === 'interrupted' &&
        error.message.includes("'model.safetensors'") &&
        error.message.includes(`of ${weights.length} bytes`) &&
        error.message.includes('nothing was cached'),
    );
    const repoDir = join(settings.cacheDir!, 'models--org--tiny');
    const commit = hub.commitOf('model', 'org/tiny');
    assert.deepEqual(await readdir(join(repoDir, 'blobs')), [], 'no blob and no temporary file left');
    await assert.rejects(lstat(join(repoDir, 'snapshots', commit, 'model.safetensors')));
    // The next attempt downloads it whole.
    const result = await downloadRepoFiles({ repo: 'org/tiny', files: ['model.safetensors'], hub: settings });
    assert.deepEqual(await readFile(result.files['model.safetensors']!), weights);
  });

  test('a missing file or repository is an error naming it', async () => {
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', files: ['pytorch_model.safetensors'], hub: settings }),
      (error: unknown) =>
        error instanceof HubError &&
        error.kind === 'file-not-found' &&
        error.message ===
          "file 'pytorch_model.safetensors' was not found in model repository 'org/tiny' at revision 'main'\n  hint: check the file name, or list the repository files on the hub",
    );
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/nothing', repoType: 'dataset', files: ['a.parquet'], hub: settings }),
      (error: unknown) =>
        error instanceof HubError &&
        error.kind === 'repo-not-found' &&
        error.message.includes("dataset repository 'org/nothing'"),
    );
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', revision: 'v9', files: ['config.json'], hub: settings }),
      (error: unknown) =>
        error instanceof HubError && error.kind === 'revision-not-found' && error.message.includes("'v9'"),
    );
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', patterns: ['*.gguf'], hub: settings }),
      (error: unknown) =>
        error instanceof HubError && error.kind === 'no-match' && error.message.includes('*.gguf'),
    );
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', files: ['../../etc/passwd'], hub: settings }),
      (error: unknown) => error instanceof HubError && error.kind === 'bad-setting',
    );
  });

  test('an unreachable hub is an error pointing at HF_ENDPOINT and offline mode', async () => {
    const closed = await LoopbackHub.start();
    const url = closed.url;
    await closed.close();
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: { ...settings, endpoint: url } }),
      (error: unknown) =>
        error instanceof HubError &&
        error.kind === 'interrupted' &&
        error.message.startsWith(
          "could not reach the hub for revision 'main' (model repository 'org/tiny')",
        ) &&
        error.message.includes('HF_HUB_OFFLINE=1'),
    );
  });

  test('HF_TOKEN is sent as a bearer token', async () => {
    hub.requiredToken = 'hf_secret';
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: settings }),
      (error: unknown) =>
        error instanceof HubError && error.kind === 'unauthorized' && error.message.includes('HTTP 401'),
    );
    const withToken = hubSettings(settings, { HF_TOKEN: 'hf_secret' });
    const result = await downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: withToken });
    assert.equal(await readFile(result.files['config.json']!, 'utf8'), config);
    assert.ok(hub.requests.slice(-3).every((r) => r.headers.authorization === 'Bearer hf_secret'));
    assert.throws(
      () => hubSettings({}, { HF_TOKEN: 'secret' }),
      (error: unknown) => error instanceof HubError && error.kind === 'bad-setting',
    );
  });
});

describe('hubSettings', () => {
  test('reads HF_ENDPOINT, HF_HOME, HF_HUB_CACHE and LAYERCUT_CACHE like huggingface_hub', () => {
    const a = hubSettings(
      {},
      { HF_ENDPOINT: 'http://127.0.0.1:9/', HF_HOME: '/data/hf', LAYERCUT_CACHE: '/data/lc' },
    );
    assert.equal(a.endpoint, 'http://127.0.0.1:9');
    assert.equal(a.cacheDir, join('/data/hf', 'hub'));
    assert.equal(a.layercutCacheDir, '/data/lc');
    assert.equal(a.offline, false);
    const b = hubSettings(
      {},
      { HF_HOME: '/data/hf', HF_HUB_CACHE: '/fast/hub', HF_HUB_OFFLINE: 'true', XDG_CACHE_HOME: '/x' },
    );
    assert.equal(b.cacheDir, '/fast/hub');
    assert.equal(b.offline, true);
    assert.equal(b.layercutCacheDir, join('/x', 'layercut'));
    const c = hubSettings({}, { XDG_CACHE_HOME: '/x', HF_HUB_OFFLINE: '0' });
    assert.equal(c.cacheDir, join('/x', 'huggingface', 'hub'));
    assert.equal(c.offline, false);
  });
});

describe('listRepo', () => {
  test('lists a revision by path (refs/… revisions URL-encoded) and caches the listing', async () => {
    await writeTree(join(root, 'served/conv'), { 'default/train/0000.parquet': Buffer.from('PAR1') });
    hub.serve({
      repoType: 'dataset',
      repo: 'org/conv',
      dir: join(root, 'served/conv'),
      revision: 'refs/convert/parquet',
    });
    const listing = await listRepo({
      repo: 'org/conv',
      repoType: 'dataset',
      revision: 'refs/convert/parquet',
      hub: settings,
    });
    assert.deepEqual(listing.paths, ['default/train/0000.parquet']);
    assert.equal(listing.commit, hub.commitOf('dataset', 'org/conv', 'refs/convert/parquet'));
    assert.equal(hub.requestsMatching('/revision/refs%2Fconvert%2Fparquet').length, 1);
    const count = hub.requests.length;
    const again = await listRepo({
      repo: 'org/conv',
      repoType: 'dataset',
      revision: 'refs/convert/parquet',
      hub: settings,
    });
    assert.equal(again.fromCache, true);
    assert.equal(hub.requests.length, count);
  });
});
