/**
 * Types for the part of `better-sqlite3` (v12) the results store uses. The package ships no
 * types and `@types/better-sqlite3` is not installed; if it ever is, delete this file.
 */
declare module 'better-sqlite3' {
  class Database {
    /** A file, or a Buffer holding a database image (opened in memory). */
    constructor(filename: string | Buffer, options?: Database.Options);
    readonly name: string;
    readonly open: boolean;
    readonly inTransaction: boolean;
    prepare(source: string): Database.Statement;
    exec(source: string): this;
    pragma(source: string, options?: { simple?: boolean }): unknown;
    transaction<F extends (...args: never[]) => unknown>(fn: F): Database.Transaction<F>;
    close(): this;
    static SqliteError: typeof Database.SqliteError;
  }
  namespace Database {
    interface Options {
      readonly?: boolean;
      fileMustExist?: boolean;
      /** Milliseconds to wait for a lock (sets busy_timeout). */
      timeout?: number;
    }
    interface RunInfo {
      changes: number;
      lastInsertRowid: number | bigint;
    }
    interface Statement {
      run(...params: unknown[]): RunInfo;
      get(...params: unknown[]): unknown;
      all(...params: unknown[]): unknown[];
    }
    /** A function wrapped in BEGIN … COMMIT (ROLLBACK when it throws). */
    interface Transaction<F extends (...args: never[]) => unknown> {
      (...args: Parameters<F>): ReturnType<F>;
      deferred(...args: Parameters<F>): ReturnType<F>;
      immediate(...args: Parameters<F>): ReturnType<F>;
      exclusive(...args: Parameters<F>): ReturnType<F>;
    }
    class SqliteError extends Error {
      code: string;
    }
  }
  export default Database;
}
