import type http from 'node:http';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';

/**
 * Dispatches the server's `upgrade` requests: a WebSocket upgrade goes to `wss` (graphql-ws on
 * `/graphql`; ws refuses other paths), any other `Upgrade` (Java's HttpClient and `curl --http2`
 * offer `h2c` on plain HTTP) is ignored, as RFC 9110 §7.8 allows, and the request is answered
 * over HTTP/1.1 like any other. Node hands every request with an `Upgrade` header to this event
 * once a listener exists, detached from its HTTP parser; such a request is replayed, without
 * its upgrade headers, through a fresh connection of `server` (the socket wrapped in a Duplex so
 * the parser reads the replayed bytes first), where keep-alive goes on as usual.
 */
export function attachUpgrades(server: http.Server, wss: WebSocketServer): void {
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    if (offers(req.headers.upgrade, 'websocket')) {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
      return;
    }
    server.emit('connection', replay(req, socket, head));
  });
}

function offers(header: string | undefined, protocol: string): boolean {
  return (header ?? '')
    .split(',')
    .some((p) => p.trim().toLowerCase().split('/', 1)[0] === protocol);
}

/** Headers that only mean something to the refused upgrade. */
const UPGRADE_HEADERS = new Set(['upgrade', 'http2-settings', 'connection']);

function replay(req: http.IncomingMessage, socket: net.Socket, head: Buffer): Duplex {
  const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (!UPGRADE_HEADERS.has(name.toLowerCase())) lines.push(`${name}: ${raw[i + 1] ?? ''}`);
  }
  const wrapped = new ReplayedSocket(socket);
  wrapped.push(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
  if (head.length > 0) wrapped.push(head);
  return wrapped;
}

/**
 * A socket's stream with replayed bytes in front, and the socket properties the HTTP server and
 * Cairn's checks read (addresses, timeouts, keep-alive).
 */
class ReplayedSocket extends Duplex {
  constructor(private readonly socket: net.Socket) {
    super({ allowHalfOpen: false });
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => this.destroy());
    socket.on('timeout', () => this.emit('timeout'));
    socket.resume();
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.socket.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }
  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  setTimeout(ms: number, callback?: () => void): this {
    this.socket.setTimeout(ms);
    if (callback) this.once('timeout', callback);
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.socket.setKeepAlive(enable, delay);
    return this;
  }

  override _read(): void {
    this.socket.resume();
  }
  override _write(
    chunk: Buffer,
    encoding: BufferEncoding,
    done: (error?: Error | null) => void,
  ): void {
    this.socket.write(chunk, encoding, done);
  }
  override _final(done: (error?: Error) => void): void {
    this.socket.end(done);
  }
  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.socket.destroy(error ?? undefined);
    done(error);
  }
}
