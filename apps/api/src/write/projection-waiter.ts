import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import { CHANGES_CHANNEL, decodeChangeNotice, type ChangeNotice } from '@cairn/change-notices';

/**
 * The `p` of the in-process notice of a committed append (see announceAppended): not a
 * projection, so read-your-writes waiters and read-model subscriptions ignore it.
 */
export const LOG_NOTICE = '@log';

interface Waiter {
  position: number;
  resolve: () => void;
}

/**
 * Listens to projection change notices (one Postgres connection per API process) and serves
 * two needs: read-your-writes (a mutation waits until the projections have applied its events,
 * with a bounded deadline) and subscriptions (`onChange`). Reconnects when the connection drops.
 */
export class ChangeListener {
  private client: pg.Client | null = null;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly emitter = new EventEmitter();
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly connectionString: string,
    private readonly db: Kysely<DB>,
  ) {
    this.emitter.setMaxListeners(0);
  }

  async start(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: 'cairn-listener',
    });
    client.on('notification', (message) => {
      if (message.channel !== CHANGES_CHANNEL || !message.payload) return;
      const notice = decodeChangeNotice(message.payload);
      if (notice) this.dispatch(notice);
    });
    client.on('error', () => this.scheduleReconnect());
    client.on('end', () => this.scheduleReconnect());
    await client.connect();
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    this.client = client;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.client = null;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.start().catch(() => this.scheduleReconnect());
      // Anything missed while disconnected: wake every waiter to re-check the database.
      this.emitter.emit('resync');
    }, 500);
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  /**
   * An append committed in this process: subscriptions that read the event log itself
   * (metricsLogged) may push at once instead of waiting for the projection's notice. Appends
   * made through other API instances still arrive through the projection's notices.
   */
  announceAppended(workspaceId: string, streamId: string, position: number): void {
    const notice: ChangeNotice = { p: LOG_NOTICE, w: workspaceId, s: [[streamId, position]] };
    this.emitter.emit('change', notice);
  }

  onChange(listener: (notice: ChangeNotice) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }

  private dispatch(notice: ChangeNotice): void {
    for (const [streamId, position] of notice.s) {
      const k = `${notice.p}|${notice.w}|${streamId}`;
      const list = this.waiters.get(k);
      if (!list) continue;
      const remaining = list.filter((w) => {
        if (w.position > position) return true;
        w.resolve();
        return false;
      });
      if (remaining.length > 0) this.waiters.set(k, remaining);
      else this.waiters.delete(k);
    }
    this.emitter.emit('change', notice);
  }

  private async applied(
    workspaceId: string,
    projection: string,
    streamId: string,
  ): Promise<number> {
    const row = await this.db
      .selectFrom('projection_stream_positions')
      .select('position')
      .where('workspace_id', '=', workspaceId)
      .where('projection', '=', projection)
      .where('stream_id', '=', streamId)
      .executeTakeFirst();
    return row?.position ?? 0;
  }

  /**
   * Resolves true once every named projection has applied `streamId` up to `position`, or false
   * at the deadline (the caller then answers with what is committed, and says nothing stale).
   */
  async waitFor(
    workspaceId: string,
    streamId: string,
    position: number,
    projections: readonly string[],
    timeoutMs = 5000,
  ): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const results = await Promise.all(
      projections.map(async (projection) => {
        const k = `${projection}|${workspaceId}|${streamId}`;
        let resolveFn!: () => void;
        const reached = new Promise<void>((resolve) => (resolveFn = resolve));
        const waiter: Waiter = { position, resolve: resolveFn };
        const list = this.waiters.get(k) ?? [];
        list.push(waiter);
        this.waiters.set(k, list);
        const check = async () => {
          if ((await this.applied(workspaceId, projection, streamId)) >= position) waiter.resolve();
        };
        const onResync = () => void check().catch(() => undefined);
        this.emitter.on('resync', onResync);
        try {
          await check();
          let timer: NodeJS.Timeout | undefined;
          const ok = await Promise.race([
            reached.then(() => true),
            new Promise<boolean>(
              (resolve) =>
                (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))),
            ),
          ]);
          clearTimeout(timer);
          return ok || (await this.applied(workspaceId, projection, streamId)) >= position;
        } finally {
          this.emitter.off('resync', onResync);
          const current = this.waiters.get(k)?.filter((w) => w !== waiter) ?? [];
          if (current.length > 0) this.waiters.set(k, current);
          else this.waiters.delete(k);
        }
      }),
    );
    return results.every(Boolean);
  }
}
