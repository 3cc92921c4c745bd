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
    // Runs at human speed (Example 1 ≈ 45 s, task_2 ≈ 6 s): watchable and editable mid-run.
    YOUMEYOU_PACE: process.env.YOUMEYOU_PACE ?? '0.2',
    // Every test signs up its own account from 127.0.0.1: lift the per-IP abuse limits.
    YOUMEYOU_REGISTER_PER_IP_PER_HOUR: process.env.YOUMEYOU_REGISTER_PER_IP_PER_HOUR ?? '1000',
    YOUMEYOU_LOGIN_PER_IP_PER_MIN: process.env.YOUMEYOU_LOGIN_PER_IP_PER_MIN ?? '1000',
    YOUMEYOU_ANON_RPM: process.env.YOUMEYOU_ANON_RPM ?? '10000',
  },
});
const stop = () => child.kill('SIGTERM');
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
child.on('exit', (code) => process.exit(code ?? 0));
