// Proves the release binary is the whole deployable: copy it ALONE into a fresh empty
// directory, start it there with no other files, and record where for the tests to check.
import { spawn } from 'node:child_process';
import { copyFileSync, chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const port = process.argv[2] ?? '3917';
const source = process.env.YOUMEYOU_BIN ?? resolve('../target/release/youmeyou');
const dir = mkdtempSync(join(tmpdir(), 'youmeyou-e2e-'));
const binary = join(dir, 'youmeyou');
copyFileSync(source, binary);
chmodSync(binary, 0o755);
writeFileSync(resolve('.server.json'), JSON.stringify({ dir, binary, port }));

const child = spawn(binary, ['serve'], {
  cwd: dir,
  stdio: 'inherit',
  env: {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    YOUMEYOU_ADDR: `127.0.0.1:${port}`,
    YOUMEYOU_LOG: process.env.YOUMEYOU_LOG ?? 'warn',
    YOUMEYOU_PACE: process.env.YOUMEYOU_PACE ?? '0',
  },
});
const stop = () => child.kill('SIGTERM');
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
child.on('exit', (code) => process.exit(code ?? 0));
