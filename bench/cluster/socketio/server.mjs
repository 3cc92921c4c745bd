// Socket.IO 4 with its Redis adapter (@socket.io/redis-adapter): the cluster baseline of the
// multi-instance benchmarks. Start one process per node on the same Redis (and key prefix);
// a room emit on any node reaches the room's sockets on every node through Redis pub/sub.
// Otherwise the same job as bench/realtime/socketio/server.mjs:
// - a client authenticates with a run's build token (HS256 JWT, same secret) in the handshake
//   `auth: {token, afterSeq}` and joins the run's room;
// - events are `{seq, runId, type, ts, data}` envelopes emitted to the room as "event", kept in
//   memory per run by the node that publishes them (the run's owner), so a reconnecting client
//   of that node gets what it missed after `afterSeq`;
// - POST /bench/publish {runs:[ids], eventsPerRun, rate, pad} publishes on this node (rate =
//   events/s over the given runs, 0 = as fast as possible), each event's data carrying `sentAt`
//   (µs since the epoch);
// - GET /bench/stats → {rss, clients, published}; GET /bench/heads → {runId: lastSeq}.
// Env: PORT, REDIS_URL (redis://127.0.0.1:6379), REDIS_PREFIX (the adapter's channel prefix).
// Loopback only; it runs until killed.
import { createServer } from 'node:http';
import crypto from 'node:crypto';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';

const port = Number(process.env.PORT || 4000);
const host = process.env.HOST || '127.0.0.1';
const secret = process.env.BENCH_SECRET || 'bench-secret-bench-secret-bench-secret!';
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const prefix = process.env.REDIS_PREFIX || 'socket.io';

const history = new Map(); // runId -> envelopes (runs this node publishes)
let published = 0;

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

function verify(token) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const expected = b64url(crypto.createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest());
  const a = Buffer.from(parts[2]);
  const b = Buffer.from(expected);
  if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
    if (header.alg !== 'HS256') return null;
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return null;
    if (claims.typ !== 'build' || typeof claims.run !== 'string') return null;
    return claims;
  } catch {
    return null;
  }
}

function nowMicros() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

const http = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/bench/stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ rss: process.memoryUsage().rss, clients: io.engine.clientsCount, published }));
    return;
  }
  if (req.method === 'GET' && req.url === '/bench/heads') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(Object.fromEntries([...history].map(([run, log]) => [run, log.length]))));
    return;
  }
  if (req.method === 'POST' && req.url === '/bench/publish') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      let spec;
      try { spec = JSON.parse(body); } catch { res.statusCode = 400; res.end('bad json'); return; }
      publish(spec);
      res.statusCode = 202;
      res.end('{}');
    });
    return;
  }
  res.statusCode = 404;
  res.end();
});

const io = new Server(http, { serveClient: false, perMessageDeflate: false, maxHttpBufferSize: 64 * 1024 });

const pubClient = createClient({ url: redisUrl });
const subClient = pubClient.duplicate();
await Promise.all([pubClient.connect(), subClient.connect()]);
io.adapter(createAdapter(pubClient, subClient, { key: prefix }));

io.use((socket, next) => {
  const claims = verify(socket.handshake.auth && socket.handshake.auth.token);
  if (!claims) return next(new Error('unauthorized'));
  socket.data.run = claims.run;
  next();
});

io.on('connection', (socket) => {
  const run = socket.data.run;
  socket.join(run);
  const after = Number(socket.handshake.auth.afterSeq || 0);
  const log = history.get(run);
  if (log && after < log.length) {
    for (let i = after; i < log.length; i++) socket.emit('event', log[i]);
  }
});

function emit(runId, pad) {
  let log = history.get(runId);
  if (!log) { log = []; history.set(runId, log); }
  const envelope = {
    seq: log.length + 1,
    runId,
    type: 'taskProgress',
    ts: new Date().toISOString(),
    data: { taskId: 't1', sentAt: nowMicros(), pad },
  };
  log.push(envelope);
  published++;
  // Local sockets of the room, and through Redis every other node's.
  io.to(runId).emit('event', envelope);
}

function publish({ runs, eventsPerRun, rate = 0, pad = '' }) {
  const total = runs.length * eventsPerRun;
  let sent = 0;
  const started = performance.now();
  const tick = () => {
    // Emit what is due at this moment (500 per loop turn when rate is 0), then yield.
    const due = rate > 0 ? Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1) : total;
    let budget = rate > 0 ? due - sent : Math.min(total - sent, 500);
    while (budget-- > 0 && sent < total) {
      emit(runs[sent % runs.length], pad);
      sent++;
    }
    if (sent < total) {
      if (rate > 0) setTimeout(tick, 1); else setImmediate(tick);
    }
  };
  tick();
}

http.listen(port, host, () => console.log(`socket.io cluster node on http://${host}:${port} (redis ${redisUrl}, key ${prefix})`));
