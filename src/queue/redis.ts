/**
 * Connections to the Redis server behind a queue: BullMQ's connection options for an address,
 * a plain client (ioredis) for layercut's own keys, and a quick check that the server answers —
 * BullMQ itself would retry a wrong address forever without a word.
 */
import type { RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';

import { LayercutError } from '../errors.js';
import type { RedisAddress } from './address.js';

/**
 * Connection options for BullMQ's Queue, Worker and QueueEvents (each opens its own connections),
 * and the base of a plain client's.
 */
export function bullConnection(address: RedisAddress): RedisOptions {
  return {
    host: address.host,
    port: address.port,
    ...(address.username ? { username: address.username } : {}),
    ...(address.password ? { password: address.password } : {}),
    ...(address.db !== undefined ? { db: address.db } : {}),
    ...(address.tls ? { tls: {} } : {}),
    // Workers block on Redis: their commands must wait through a reconnect, not fail.
    maxRetriesPerRequest: null,
  };
}

/** A plain client for layercut's own keys (worker announcements); it connects on `connect()`. */
export function openRedis(address: RedisAddress): Redis {
  return new Redis({ ...bullConnection(address), lazyConnect: true });
}

/** Resolves when the server answers PING; a LayercutError saying what to check when it does not. */
export async function checkRedis(address: RedisAddress, timeoutMs = 5000): Promise<void> {
  // One try, no retries: a wrong address must fail now, not be retried forever.
  const client = new Redis({
    ...bullConnection(address),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined); // reported through connect()'s rejection
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new LayercutError(
      `cannot reach Redis at ${address.display}: ${(error as Error).message}`,
      'start redis-server there (or check the host, port and password in the URL)',
    );
  } finally {
    client.disconnect();
  }
}
