#!/usr/bin/env node
'use strict';
// npm's install step: find libtorch (installing Debian's libtorch-dev when we may), then
// build native/ with cmake-js into build/native. `--force` rebuilds from scratch.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const { findLibtorch, fromSystem, multiarch } = require('./find_libtorch');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'build', 'native');
const APT_PACKAGES = ['libtorch-dev', 'libopenblas0-pthread', 'libgloo-dev'];
const APT_COMMAND = `sudo apt-get install -y --no-install-recommends ${APT_PACKAGES.join(' ')}`;

function log(msg) {
  process.stderr.write(`[detectron build] ${msg}\n`);
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function isDebian() {
  return fs.existsSync('/etc/debian_version');
}

function aptInstall(packages) {
  log(`installing ${packages.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  const install = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], {
    stdio: 'inherit',
    env,
  });
  if (update.status !== 0 || install.status !== 0) {
    throw new Error(`apt-get could not install ${packages.join(' ')}; run: ${APT_COMMAND}`);
  }
}

// OpenBLAS makes libtorch's CPU matrix products about 50x faster than the reference BLAS
// that libtorch-dev alone pulls in.
function ensureOpenBlas() {
  const lib = `/usr/lib/${multiarch()}/openblas-pthread`;
  if (fs.existsSync(lib)) return;
  if (isRoot() && isDebian()) aptInstall(['libopenblas0-pthread']);
  else log(`warning: OpenBLAS is missing, so matrix products will be slow; run: sudo apt-get install -y libopenblas0-pthread`);
}

// Gloo's headers, which c10d's ProcessGroupGloo.hpp includes, for multi-process training.
function ensureGlooHeaders() {
  if (fs.existsSync('/usr/include/gloo/algorithm.h')) return;
  if (isRoot() && isDebian()) aptInstall(['libgloo-dev']);
  else log('warning: Gloo headers are missing, so multi-process training is disabled; run: sudo apt-get install -y libgloo-dev');
}

function locateLibtorch() {
  let found = findLibtorch();
  if (found) return found;
  if (isRoot() && isDebian()) {
    aptInstall(APT_PACKAGES);
    found = fromSystem();
    if (found) return found;
  }
  throw new Error(
    'libtorch was not found (looked at $LIBTORCH, the active Python\'s torch, and the system package).\n' +
      `Install it with:\n  ${APT_COMMAND}\nor unpack a libtorch release and set LIBTORCH=/path/to/libtorch.`,
  );
}

function cmakeJs(args) {
  const bin = require.resolve('cmake-js/bin/cmake-js');
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`cmake-js ${args[0]} failed (exit ${result.status})`);
}

function main() {
  const force = process.argv.includes('--force');
  const torch = locateLibtorch();
  if (torch.source === 'system') {
    ensureOpenBlas();
    ensureGlooHeaders();
  }
  log(`libtorch: ${torch.dir} (${torch.source})`);
  if (force) fs.rmSync(OUT, { recursive: true, force: true });
  const addonApi = require('node-addon-api').include_dir;
  cmakeJs([
    'compile',
    '--directory', path.join(ROOT, 'native'),
    '--out', OUT,
    '--parallel', String(Math.max(1, os.cpus().length)),
    `--CDTorch_DIR=${torch.dir}`,
    `--CDNODE_ADDON_API_DIR=${path.resolve(ROOT, addonApi)}`,
  ]);
  fs.writeFileSync(path.join(OUT, 'libtorch.json'), JSON.stringify(torch, null, 2) + '\n');
}

try {
  main();
} catch (err) {
  log(err.message);
  process.exit(1);
}
