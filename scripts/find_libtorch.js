'use strict';
// Finds libtorch's CMake package in Detectron.ts's documented order:
// $LIBTORCH, then the active Python's torch, then the system package (libtorch-dev).
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const CONFIG = 'TorchConfig.cmake';

function torchDirUnder(prefix) {
  for (const sub of ['share/cmake/Torch', 'lib/cmake/Torch']) {
    const dir = path.join(prefix, sub);
    if (fs.existsSync(path.join(dir, CONFIG))) return dir;
  }
  return null;
}

function fromEnv() {
  const root = process.env.LIBTORCH;
  if (!root) return null;
  const dir = torchDirUnder(root);
  if (!dir) throw new Error(`LIBTORCH=${root} holds no share/cmake/Torch/${CONFIG}; point it at an unpacked libtorch`);
  return { source: 'LIBTORCH', dir };
}

function fromPython() {
  for (const python of [process.env.PYTHON, 'python3', 'python'].filter(Boolean)) {
    try {
      const out = execFileSync(python, ['-c', 'import torch.utils; print(torch.utils.cmake_prefix_path)'], {
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 60000,
      }).toString().trim();
      const dir = path.join(out, 'Torch');
      if (out && fs.existsSync(path.join(dir, CONFIG))) return { source: `python torch (${python})`, dir };
    } catch {
      // No such interpreter, or no torch in it: try the next place.
    }
  }
  return null;
}

function multiarch() {
  try {
    return execFileSync('gcc', ['-print-multiarch'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  }
}

function fromSystem() {
  const candidates = [
    `/usr/lib/${multiarch()}/cmake/Torch`,
    '/usr/lib/cmake/Torch',
    '/usr/share/cmake/Torch',
    '/usr/local/share/cmake/Torch',
    '/usr/local/lib/cmake/Torch',
  ];
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, CONFIG))) return { source: 'system', dir };
  }
  return null;
}

function findLibtorch() {
  return fromEnv() || fromPython() || fromSystem();
}

module.exports = { findLibtorch, fromSystem, multiarch };
