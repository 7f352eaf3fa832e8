// Compiles bake's native daemon client (bin/daemon-client.c) to dist/bake-client, which bin/bake
// runs instead of Node when it is there. Where there is no C compiler (or it fails) bake works as
// before, only each command starts Node: this says so and succeeds. Under CI=true a failure fails
// the build, since the tests expect the client.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

const source = 'bin/daemon-client.c';
const output = 'dist/bake-client';
const flags = ['-std=c11', '-O2', '-Wall', '-Wextra', '-o', output, source];

rmSync(output, { force: true });
const compilers = [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean);
let failure = 'no C compiler (cc, gcc or clang) was found';
for (const cc of compilers) {
  const built = spawnSync(cc, flags, { encoding: 'utf8' });
  if (built.error?.code === 'ENOENT') continue;
  if (built.status === 0) {
    if (built.stderr.trim()) process.stderr.write(built.stderr);
    process.exit(0);
  }
  failure = `${cc} failed:\n${built.stderr || built.error?.message}`;
  break;
}
process.stderr.write(`bake: the native client was not built (${failure}); commands start through Node instead (about 50 ms more each)\n`);
process.exit(process.env.CI === 'true' ? 1 : 0);
