// Smoke test of server.mjs with the official socket.io-client: signs a build token for RUN with
// BENCH_SECRET, connects, asks for a publish and checks 5 events arrive in order.
// Usage: node smoke.mjs   (URL, RUN, BENCH_SECRET optional)
import crypto from 'node:crypto';
import { io } from 'socket.io-client';

const url = process.env.URL || 'http://127.0.0.1:4000';
const run = process.env.RUN || 'smoke';
const secret = process.env.BENCH_SECRET || 'bench-secret-bench-secret-bench-secret!';
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = Math.floor(Date.now() / 1000);
const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'bench', typ: 'build', run, iat: now, exp: now + 600, jti: 'smoke' })}`;
const token = `${body}.${crypto.createHmac('sha256', secret).update(body).digest('base64url')}`;

const socket = io(url, { transports: ['websocket'], auth: { token, afterSeq: 0 } });
let last = 0;
const timer = setTimeout(() => { console.error('timeout'); process.exit(1); }, 10000);
socket.on('connect_error', (e) => { console.error('connect_error', e.message); process.exit(1); });
socket.on('connect', async () => {
  await fetch(`${url}/bench/publish`, { method: 'POST', body: JSON.stringify({ runs: [run], eventsPerRun: 5 }) });
});
socket.on('event', (e) => {
  if (e.seq !== last + 1) { console.error('out of order', e.seq, last); process.exit(1); }
  last = e.seq;
  if (last === 5) { clearTimeout(timer); console.log('ok: 5 events in order over socket.io-client'); socket.close(); }
});
