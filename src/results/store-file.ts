/**
 * Opening a results store's file without touching what is not ours.
 *
 * Before SQLite opens a file with write access, the file is identified: its header (the first
 * 100 bytes: SQLite's magic string, the journal mode, the application id) and, where the
 * header cannot tell (stores made before schema version 3 have application id 0), its tables —
 * read through a connection that cannot change the file. A file that is not a layercut store
 * is refused and left byte for byte as it was.
 *
 *   openForWriting(file)   layercut run, workers, notebooks: creates a new store, migrates an old one
 *   openForReading(file)   layercut results, plot, status: never creates, migrates or writes;
 *                          reads a store on read-only media (a folder where SQLite cannot make
 *                          its -shm file) from a copy in memory
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';

import { LayercutError } from '../errors.js';
import { APPLICATION_ID, checkNotNewer, fileContents, migrate, notAStore } from './schema.js';

/** "SQLite format 3\0": how every SQLite database file begins. */
const SQLITE_MAGIC = Buffer.from('SQLite format 3\u0000', 'latin1');

/** What the header says. */
type Header =
  | { kind: 'missing' }
  | { kind: 'empty' }
  | { kind: 'not-sqlite' }
  | { kind: 'sqlite'; applicationId: number; wal: boolean };

function readHeader(file: string): Header {
  let fd;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'EISDIR')
      throw new LayercutError(`${file} is a folder, not a results store`, 'pass --db with a file');
    throw new LayercutError(`cannot read results store ${file}: ${(error as Error).message}`);
  }
  try {
    if (statSync(file).isDirectory()) {
      throw new LayercutError(`${file} is a folder, not a results store`, 'pass --db with a file');
    }
    const header = Buffer.alloc(100);
    const length = readSync(fd, header, 0, 100, 0);
    if (length === 0) return { kind: 'empty' };
    if (length < 100 || !header.subarray(0, 16).equals(SQLITE_MAGIC)) return { kind: 'not-sqlite' };
    // offset 18: write version (2 = WAL); offset 68: application id, big-endian
    return { kind: 'sqlite', applicationId: header.readInt32BE(68), wal: header[18] === 2 };
  } finally {
    closeSync(fd);
  }
}

/** An in-memory copy of the file, opened read-only (WAL marks cleared: memory databases have no WAL). */
function snapshot(file: string): Database {
  const bytes = readFileSync(file);
  bytes[18] = 1;
  bytes[19] = 1;
  return new Database(bytes, { readonly: true });
}

/**
 * A read-only connection that has not changed the file and will not. Read-only, SQLite still
 * creates -wal and -shm files beside a WAL file that has none: where the file is not known to be
 * ours, read a copy in memory instead (with no -wal file, the file holds everything). Where the
 * folder cannot be written (read-only media), SQLite cannot read a WAL file at all: a copy too.
 */
function readOnlyConnection(
  file: string,
  header: Extract<Header, { kind: 'sqlite' }>,
  ours: boolean,
): Database {
  const hasWal = existsSync(`${file}-wal`);
  if (header.wal && !hasWal && !ours) return snapshot(file);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma('schema_version'); // the first read: here SQLite opens the -wal and -shm files
    return db;
  } catch (error) {
    db.close();
    const code = sqliteCode(error);
    if (code === 'SQLITE_READONLY_DIRECTORY' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY') {
      if (!hasWal) return snapshot(file);
      throw new LayercutError(
        `cannot read results store ${file}: its folder cannot be written, and ${path.basename(file)}-wal holds writes not yet in the file`,
        'copy the file together with its -wal file to a folder you can write, and pass --db with the copy',
      );
    }
    throw error;
  }
}

function sqliteCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}

/** Raw SQLite failures that a user can cause, as LayercutErrors; anything else is rethrown. */
function explain(error: unknown, file: string, writing: boolean): never {
  if (error instanceof LayercutError) throw error;
  const code = sqliteCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') throw notAStore(file, message);
  if (
    writing &&
    (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM')
  ) {
    throw new LayercutError(
      `cannot write results store ${file}: ${message} (the file or its folder is read-only)`,
      'runs need a store they can write: pass --db with a file in a folder you can write (layercut results, plot and status can read this one)',
    );
  }
  if (code.startsWith('SQLITE_')) throw new LayercutError(`cannot read results store ${file}: ${message}`);
  throw error;
}

export interface WriteOptions {
  /** How long to wait for another process's write lock, in ms. */
  busyTimeoutMs: number;
}

/** Opens the store to write, creating it (a missing or empty file) or migrating it; refuses any other file. */
export function openForWriting(file: string, options: WriteOptions): Database {
  const header = readHeader(file);
  if (header.kind === 'missing' && !existsSync(path.dirname(file))) {
    throw new LayercutError(
      `cannot create results store ${file}: its folder does not exist`,
      'create the folder or pick another --db path',
    );
  }
  if (header.kind === 'not-sqlite') throw notAStore(file, 'it is not an SQLite database');
  if (header.kind === 'sqlite' && header.applicationId !== APPLICATION_ID) {
    // Not marked as ours: an old store (known by its tables), an empty database, or foreign.
    let probe: Database | undefined;
    try {
      probe = readOnlyConnection(file, header, false);
      const contents = fileContents(probe);
      if (contents.kind === 'foreign') throw notAStore(file, contents.why);
    } catch (error) {
      explain(error, file, false);
    } finally {
      probe?.close();
    }
  }
  let db: Database | undefined;
  try {
    db = new Database(file, { timeout: options.busyTimeoutMs });
    // Migrate first: a new file gets its tables and application id in the main file, then WAL.
    migrate(db, file);
    db.pragma('journal_mode = WAL');
    return db;
  } catch (error) {
    db?.close();
    explain(error, file, true);
  }
}

/**
 * Opens the store to read without writing anything to it, at whatever schema version it has
 * (store.ts reads the columns an older one lacks as absent); refuses a missing file, an empty
 * one, a foreign one, and one of a newer layercut.
 */
export function openForReading(file: string): Database {
  const header = readHeader(file);
  switch (header.kind) {
    case 'missing':
      throw new LayercutError(`no results store at ${file}`, 'pass --db with the file your runs wrote to');
    case 'empty':
      throw notAStore(file, 'the file is empty');
    case 'not-sqlite':
      throw notAStore(file, 'it is not an SQLite database');
  }
  let db: Database | undefined;
  try {
    db = readOnlyConnection(file, header, header.applicationId === APPLICATION_ID);
    const contents = fileContents(db);
    if (contents.kind === 'foreign') throw notAStore(file, contents.why);
    if (contents.kind === 'empty') throw notAStore(file, 'it is an empty SQLite database');
    checkNotNewer(contents.version, file);
    return db;
  } catch (error) {
    db?.close();
    explain(error, file, false);
  }
}
