import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

let packed: Promise<string> | undefined;

/**
 * The tarball `npm pack` makes of this repository (its `prepack` builds `dist/`), packed into a
 * temporary folder once per test process, reused after and removed when the process exits.
 * `TOKENWIRE_TARBALL` names a tarball made beforehand instead, used as it is.
 *
 * @returns the tarball's absolute path.
 * @throws when `npm pack` fails or makes no tarball (its output is in the message).
 */
export function packedTokenwire(): Promise<string> {
  const given = process.env['TOKENWIRE_TARBALL'];
  if (given) return Promise.resolve(given);
  return (packed ??= pack());
}

async function pack(): Promise<string> {
  const into = await mkdtemp(join(tmpdir(), 'tokenwire-pack-'));
  process.once('exit', () => rmSync(into, { recursive: true, force: true }));
  const { stdout, stderr } = await run('npm', ['pack', '--pack-destination', into, '--no-audit', '--no-fund'], {
    cwd: root,
    timeout: 300_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const tarball = (await readdir(into)).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack made no tarball in ${into}:\n${stdout}\n${stderr}`);
  return join(into, tarball);
}
