/**
 * The hub client against a hostile mirror (the loopback hub lying and stalling): nothing it
 * sends becomes a path outside the cache, no request waits forever, no listing pages forever,
 * and a failed download leaves nothing behind.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { HubError, downloadRepoFiles, hubSettings, listRepo } from '../../src/hub/index.js';
import type { HubErrorKind, HubSettings } from '../../src/hub/index.js';
import { LoopbackHub } from '../helpers/hub-server.js';
import type { TreeEntry } from '../helpers/hub-server.js';

for (const name of [
  'HF_TOKEN',
  'HUGGING_FACE_HUB_TOKEN',
  'HF_HUB_OFFLINE',
  'HF_ENDPOINT',
  'HF_HUB_ETAG_TIMEOUT',
  'HF_HUB_DOWNLOAD_TIMEOUT',
])
  delete process.env[name];

/** Timeouts of the tests: short, so that a stall is detected in well under a second. */
const TIMEOUT_SECONDS = 0.3;
/** Each test's own limit: a client that hangs (the old behaviour) fails instead of blocking the run. */
const LIMIT = { timeout: 10_000 };

let hub: LoopbackHub;
let root: string;
let cache: string;
let settings: Partial<HubSettings>;

/** 600 KiB of deterministic bytes: several network chunks. */
const weights = Buffer.from(Array.from({ length: 600 * 1024 }, (_, i) => (i * 31 + 7) % 251));
const config = JSON.stringify({ n_layer: 2, n_embd: 8 });

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'layercut-hostile-'));
  hub = await LoopbackHub.start();
  const served = join(root, 'served');
  await mkdir(join(served, 'nested'), { recursive: true });
  await writeFile(join(served, 'config.json'), config);
  await writeFile(join(served, 'model.safetensors'), weights);
  await writeFile(join(served, 'nested/extra.json'), '{}');
  hub.serve({ repoType: 'model', repo: 'org/tiny', dir: served });
});

after(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  hub.reset();
  cache = await mkdtemp(join(root, 'cache-'));
  settings = {
    endpoint: hub.url,
    cacheDir: join(cache, 'hub'),
    layercutCacheDir: join(cache, 'layercut'),
    offline: false,
    etagTimeoutSeconds: TIMEOUT_SECONDS,
    downloadTimeoutSeconds: TIMEOUT_SECONDS,
  };
});

/** An assert.rejects predicate: a HubError of `kind` whose message contains every fragment. */
function hubError(kind: HubErrorKind, ...fragments: string[]): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof HubError, `expected a HubError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    for (const fragment of fragments)
      assert.ok(error.message.includes(fragment), `${fragment} in ${error.message}`);
    return true;
  };
}

/** Rewrites the listed entry of `path` (the others pass through). */
function rewrite(
  path: string,
  change: (entry: TreeEntry) => TreeEntry,
): (entries: TreeEntry[]) => TreeEntry[] {
  return (entries) => entries.map((e) => (e.path === path ? change(e) : e));
}

/** Every file and folder under `dir`, relative to it (links not followed). */
async function treeOf(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String).sort();
}

/** `../` enough times to climb from any cache path to `/`, then `target` (absolute). */
function climbTo(target: string): string {
  return '../'.repeat(40) + target.replace(/^\//, '');
}

describe('a mirror cannot make layercut read or write outside the cache', () => {
  test(
    'a git oid that climbs out of blobs/ is refused, and no link to the target is made',
    LIMIT,
    async () => {
      const secret = join(root, 'secret.txt');
      await writeFile(secret, 'not yours');
      const oid = climbTo(secret);
      hub.hostile.listing = rewrite('config.json', (e) => ({ ...e, oid }));
      await assert.rejects(
        downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: settings }),
        hubError('unsafe-path', hub.url, "model repository 'org/tiny'", JSON.stringify(oid), '40 hex digits'),
      );
      assert.deepEqual(await treeOf(join(settings.cacheDir!, 'models--org--tiny')), []);
    },
  );

  test('an LFS sha256 that climbs out of blobs/ is refused before any folder is made', LIMIT, async () => {
    const escape = `escaped-${Date.now()}`;
    const oid = `../../../../${escape}/x`;
    hub.hostile.listing = rewrite('model.safetensors', (e) => ({ ...e, lfs: { ...e.lfs!, oid } }));
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', files: ['model.safetensors'], hub: settings }),
      hubError('unsafe-path', hub.url, JSON.stringify(oid), '64 hex digits'),
    );
    assert.equal(existsSync(join(root, escape)), false, 'no folder outside the cache');
    assert.deepEqual(await treeOf(cache), []);
  });

  test('listed paths that are absolute, climb, or hide a NUL or backslash are refused', LIMIT, async () => {
    const badPaths = [
      '../../escape.json',
      'a/../../b.json',
      '/tmp/abs.json',
      'a\\..\\..\\b.json',
      'a\u0000.json',
      'a//b.json',
      'C:/x.json',
      './a.json',
    ];
    for (const bad of badPaths) {
      hub.hostile.listing = (entries) => [...entries, { ...entries[0]!, path: bad }];
      await assert.rejects(
        listRepo({ repo: 'org/tiny', hub: settings }),
        hubError('unsafe-path', `${hub.url}/api/models/org/tiny/tree/`, JSON.stringify(bad)),
        bad,
      );
      await assert.rejects(
        downloadRepoFiles({ repo: 'org/tiny', patterns: ['*.json'], hub: settings }),
        hubError('unsafe-path', JSON.stringify(bad)),
        bad,
      );
    }
    assert.deepEqual(await treeOf(join(cache, 'layercut')), [], 'no bad listing was cached');
  });

  test('a commit hash that is not 40 hex digits is refused', LIMIT, async () => {
    hub.hostile.commit = '../../../../etc';
    await assert.rejects(
      listRepo({ repo: 'org/tiny', hub: settings }),
      hubError('unsafe-path', `${hub.url}/api/models/org/tiny/revision/main`, '"../../../../etc"'),
    );
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: settings }),
      hubError('unsafe-path', '"../../../../etc"'),
    );
    assert.deepEqual(await treeOf(cache), []);
  });

  test('a cached link that resolves outside the cache is never read', LIMIT, async () => {
    // A cache poisoned earlier (by an older version, or by hand): refs/main and a snapshot
    // entry linking to a file outside.
    const secret = join(root, 'poison.txt');
    await writeFile(secret, 'not yours');
    const commit = hub.commitOf('model', 'org/tiny');
    const repoDir = join(settings.cacheDir!, 'models--org--tiny');
    const link = join(repoDir, 'snapshots', commit, 'config.json');
    await mkdir(dirname(link), { recursive: true });
    await symlink(relative(dirname(link), secret), link);
    await mkdir(join(repoDir, 'refs'), { recursive: true });
    await writeFile(join(repoDir, 'refs', 'main'), commit);
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: settings }),
      hubError('unsafe-path', link, secret, 'outside'),
    );
    // Nor through the hub's answer, when the snapshot entry is reached on the way to the network.
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: settings, refresh: true }),
      hubError('unsafe-path', link, 'outside'),
    );
  });

  test('a planted folder or blob link in the cache is neither written through nor read', LIMIT, async () => {
    const commit = hub.commitOf('model', 'org/tiny');
    const repoDir = join(settings.cacheDir!, 'models--org--tiny');
    // snapshots/{commit}/nested → a folder outside: the snapshot entry must not be made there.
    const outsideDir = await mkdtemp(join(root, 'outside-'));
    await mkdir(join(repoDir, 'snapshots', commit), { recursive: true });
    await symlink(outsideDir, join(repoDir, 'snapshots', commit, 'nested'));
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', files: ['nested/extra.json'], hub: settings }),
      hubError('unsafe-path', join(repoDir, 'snapshots', commit, 'nested'), outsideDir),
    );
    assert.deepEqual(await readdir(outsideDir), []);
    // blobs/{sha1 of config.json} → a file outside: it must not be linked or read.
    const secret = join(root, 'blob-secret.txt');
    await writeFile(secret, 'not yours');
    const sha1 = createHash('sha1').update(`blob ${config.length}\0${config}`).digest('hex');
    await mkdir(join(repoDir, 'blobs'), { recursive: true });
    await symlink(secret, join(repoDir, 'blobs', sha1));
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: settings }),
      hubError('unsafe-path', join(repoDir, 'blobs', sha1), secret),
    );
    assert.equal(existsSync(join(repoDir, 'snapshots', commit, 'config.json')), false);
  });

  test('a revision that climbs out of refs/ is refused before any request', LIMIT, async () => {
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', revision: '../../../x', files: ['config.json'], hub: settings }),
      hubError('bad-setting', "'../../../x' is not a valid revision"),
    );
    assert.equal(hub.requests.length, 0);
  });
});

describe('a mirror cannot make layercut wait forever', () => {
  test('a stalled metadata request times out naming the URL and HF_HUB_ETAG_TIMEOUT', LIMIT, async () => {
    const cases: [fragment: string, afterBytes: number | undefined, run: () => Promise<unknown>][] = [
      ['/revision/main', undefined, () => listRepo({ repo: 'org/tiny', hub: settings })],
      ['/tree/', 5, () => listRepo({ repo: 'org/tiny', hub: settings })],
      [
        '/paths-info/',
        0,
        () => downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: settings }),
      ],
    ];
    for (const [fragment, afterBytes, run] of cases) {
      hub.stall(fragment, afterBytes);
      const started = performance.now();
      await assert.rejects(
        run(),
        hubError('timeout', fragment, hub.url, 'HF_HUB_ETAG_TIMEOUT', '0.3 s'),
        fragment,
      );
      const seconds = (performance.now() - started) / 1000;
      assert.ok(seconds >= TIMEOUT_SECONDS * 0.9 && seconds < 3, `${fragment}: gave up after ${seconds} s`);
    }
    // The next (honest) answer goes through.
    const listing = await listRepo({ repo: 'org/tiny', hub: settings });
    assert.deepEqual(listing.paths, ['config.json', 'model.safetensors', 'nested/extra.json']);
  });

  test(
    'a body that stalls half-way times out, leaves nothing in the cache, and the next try succeeds',
    LIMIT,
    async () => {
      hub.stall('model.safetensors', 100_000);
      await assert.rejects(
        downloadRepoFiles({ repo: 'org/tiny', files: ['config.json', 'model.safetensors'], hub: settings }),
        hubError(
          'timeout',
          "'model.safetensors'",
          'HF_HUB_DOWNLOAD_TIMEOUT',
          'after 100000 bytes',
          '/resolve/',
          'nothing was cached',
        ),
      );
      const repoDir = join(settings.cacheDir!, 'models--org--tiny');
      const commit = hub.commitOf('model', 'org/tiny');
      const left = await treeOf(repoDir);
      assert.ok(!left.some((p) => p.includes('incomplete')), `no temporary file: ${left.join(', ')}`);
      assert.ok(!left.includes(join('snapshots', commit, 'model.safetensors')), 'no snapshot entry');
      assert.ok(!left.includes('refs'), 'the revision is not recorded as downloaded');
      const result = await downloadRepoFiles({
        repo: 'org/tiny',
        files: ['config.json', 'model.safetensors'],
        hub: settings,
      });
      assert.deepEqual(await readFile(result.files['model.safetensors']!), weights);
    },
  );

  test('a body that never starts times out too', LIMIT, async () => {
    hub.stall('/resolve/');
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: settings }),
      hubError('timeout', "'config.json'", 'HF_HUB_DOWNLOAD_TIMEOUT', 'after 0 bytes'),
    );
  });

  test('HF_HUB_DOWNLOAD_TIMEOUT limits silence, not the whole download', LIMIT, async () => {
    // 600 KiB at 64 KiB per 60 ms: about 0.6 s in all, twice the 0.3 s timeout.
    hub.throttle('model.safetensors', 64 * 1024, 60);
    const started = performance.now();
    const result = await downloadRepoFiles({ repo: 'org/tiny', files: ['model.safetensors'], hub: settings });
    assert.ok(
      (performance.now() - started) / 1000 > TIMEOUT_SECONDS,
      'the download took longer than the timeout',
    );
    assert.deepEqual(await readFile(result.files['model.safetensors']!), weights);
  });

  test('a body longer than announced is cut off at the announced size', LIMIT, async () => {
    hub.hostile.listing = rewrite('config.json', (e) => ({ ...e, size: 3 }));
    await assert.rejects(
      downloadRepoFiles({ repo: 'org/tiny', files: ['config.json'], hub: settings }),
      hubError('integrity', "'config.json'", 'longer than the 3 bytes', 'nothing was cached'),
    );
    assert.ok(
      !(await treeOf(join(settings.cacheDir!, 'models--org--tiny'))).some((p) => p.includes('blobs/')),
    );
  });

  test('the timeouts come from HF_HUB_ETAG_TIMEOUT and HF_HUB_DOWNLOAD_TIMEOUT (default 10 s)', () => {
    const fromEnv = hubSettings({}, { HF_HUB_ETAG_TIMEOUT: '2.5', HF_HUB_DOWNLOAD_TIMEOUT: '60' });
    assert.equal(fromEnv.etagTimeoutSeconds, 2.5);
    assert.equal(fromEnv.downloadTimeoutSeconds, 60);
    const defaults = hubSettings({}, {});
    assert.equal(defaults.etagTimeoutSeconds, 10);
    assert.equal(defaults.downloadTimeoutSeconds, 10);
    assert.equal(defaults.maxListingPages, 1000);
    for (const bad of ['ten', '0', '-1', 'Infinity']) {
      assert.throws(
        () => hubSettings({}, { HF_HUB_DOWNLOAD_TIMEOUT: bad }),
        hubError('bad-setting', 'HF_HUB_DOWNLOAD_TIMEOUT', JSON.stringify(bad)),
      );
    }
  });

  test('HF_HUB_ETAG_TIMEOUT set in the environment applies to requests', LIMIT, async () => {
    hub.stall('/revision/main');
    const fromEnv = hubSettings(
      { ...settings, etagTimeoutSeconds: undefined },
      { HF_HUB_ETAG_TIMEOUT: '0.2' },
    );
    await assert.rejects(listRepo({ repo: 'org/tiny', hub: fromEnv }), hubError('timeout', 'within 0.2 s'));
  });
});

describe('a mirror cannot make a listing page forever', () => {
  test('a next link to the page itself is refused after one request', LIMIT, async () => {
    hub.hostile.nextLink = 'self';
    await assert.rejects(
      listRepo({ repo: 'org/tiny', hub: settings }),
      hubError('bad-response', 'was already listed', hub.url),
    );
    assert.equal(hub.requestsMatching('/tree/').length, 1);
  });

  test('next links that repeat a cursor are refused', LIMIT, async () => {
    hub.pageSize = 1;
    hub.hostile.nextLink = 'same-cursor';
    await assert.rejects(
      listRepo({ repo: 'org/tiny', hub: settings }),
      hubError('bad-response', 'repeats cursor 1'),
    );
    assert.equal(hub.requestsMatching('/tree/').length, 2);
  });

  test('an endless chain of new pages stops at maxListingPages', LIMIT, async () => {
    hub.pageSize = 1;
    hub.hostile.nextLink = 'endless';
    await assert.rejects(
      listRepo({ repo: 'org/tiny', hub: { ...settings, maxListingPages: 25 } }),
      hubError('bad-response', 'past 25 pages'),
    );
    assert.equal(hub.requestsMatching('/tree/').length, 25);
  });

  test('a next link to another origin is not followed', LIMIT, async (t) => {
    const other = await LoopbackHub.start();
    t.after(() => other.close());
    hub.pageSize = 1;
    hub.hostile.nextLink = { origin: other.url };
    await assert.rejects(
      listRepo({ repo: 'org/tiny', hub: settings }),
      hubError('bad-response', `${other.url}/api/models/org/tiny/tree/`, 'another origin'),
    );
    assert.equal(other.requests.length, 0);
  });

  test('a file listed twice is refused', LIMIT, async () => {
    hub.hostile.listing = (entries) => [...entries, entries[0]!];
    await assert.rejects(
      listRepo({ repo: 'org/tiny', hub: settings }),
      hubError('bad-response', 'listed twice'),
    );
  });
});
