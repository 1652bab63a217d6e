// Shared helpers of the Node tests: the addon under test, temporary git repositories,
// registries with given ranges, and blocks of free ports.
import { createRequire } from 'node:module'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
export const root = path.resolve(here, '..', '..')
export const npmDir = path.join(root, 'npm')
const require = createRequire(import.meta.url)

/** The addon as `require('atlas-ports')` gives it. */
export const atlas = require(npmDir)

/** The native program (built by `cargo build`), and the npm package's bin. */
export const nativeBin = process.env.ATLAS_PORTS_BIN ?? path.join(root, 'target', 'debug', 'atlas-ports')
export const npmBin = path.join(npmDir, 'bin', 'atlas-ports.js')

/** A temporary folder removed when the process exits. */
export function tempDir(prefix = 'atlas-node-') {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)))
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

// atlas-ports' own folder (the dashboard's local CA) is one of the test's, never the user's:
// `up` writes NODE_EXTRA_CA_CERTS only when a test made a CA, whatever the machine has.
process.env.ATLAS_PORTS_HOME = path.join(tempDir('atlas-home-'), 'home')
delete process.env.NODE_EXTRA_CA_CERTS

/** A git repository with one commit; returns its main worktree's folder. */
export function gitRepo() {
  const main = path.join(tempDir(), 'repo')
  fs.mkdirSync(main)
  const git = (...args) => execFileSync('git', args, { cwd: main, stdio: 'pipe' })
  git('init', '-q')
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'init')
  return main
}

/** Adds a linked worktree `<tmp>/<name>` beside the main worktree. */
export function addWorktree(main, name) {
  const wt = path.join(path.dirname(main), name)
  execFileSync('git', ['worktree', 'add', '-q', '-b', name, wt], { cwd: main, stdio: 'pipe' })
  return wt
}

/** Writes a registry with the given `{ service: [start, end] }` ranges; returns its path. */
export function registryWith(ranges, dir = tempDir()) {
  const file = path.join(dir, 'ports.json')
  const r = Object.fromEntries(Object.entries(ranges).map(([s, [start, end]]) => [s, { start, end, description: s }]))
  const metadata = { version: '1.0.0', last_updated: '', total_allocations: 0, schema_version: 1 }
  fs.writeFileSync(file, JSON.stringify({ ranges: r, allocations: [], metadata }, null, 2))
  return file
}

/** Whether a TCP server could listen on the port now (IPv4 and IPv6 wildcard). */
async function bindable(port) {
  for (const host of ['0.0.0.0', '::']) {
    const ok = await new Promise((resolve) => {
      const s = net.createServer()
      s.once('error', (e) => resolve(e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL'))
      s.listen({ port, host, exclusive: true }, () => s.close(() => resolve(true)))
    })
    if (!ok) return false
  }
  return true
}

let nextPort = 21000 + (process.pid % 20) * 500
/** `n` consecutive ports that are free now (distinct within this process). */
export async function freeBlock(n) {
  for (;;) {
    const start = nextPort
    nextPort += n
    let all = true
    for (let p = start; p < start + n && all; p++) all = await bindable(p)
    if (all) return start
    if (nextPort > 32000) throw new Error(`no block of ${n} free ports`)
  }
}

/** Asserts that `fn` throws an Error with `code`, and returns it. */
export function codeOf(fn) {
  try {
    fn()
  } catch (e) {
    if (!(e instanceof Error)) throw new Error(`threw a non-Error: ${e}`)
    return e
  }
  throw new Error('did not throw')
}

/** The WebAssembly packages built by scripts/build-wasm.sh. */
export const wasmDir = path.join(root, 'target', 'wasm')
export const wasm = require(path.join(wasmDir, 'nodejs', 'atlas_ports.js'))

/**
 * The package as users get it: `npm pack`, installed into a fresh project folder. Packed and
 * installed once per test file; returns `{ dir, packed }` (`packed` as `npm pack --json` says).
 */
let installed
export function installedPackage() {
  if (installed) return installed
  const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  const tmp = tempDir('atlas-pkg-')
  const packed = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', tmp], npmDir))[0]
  const dir = path.join(tmp, 'proj')
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'proj', version: '1.0.0', private: true }))
  sh('npm', ['install', path.join(tmp, packed.filename), '--no-audit', '--no-fund', '--prefer-offline'], dir)
  installed = { dir, packed }
  return installed
}

/** `require('atlas-ports')` as a project that installed the packed tarball gets it. */
export function installedAtlas() {
  const { dir } = installedPackage()
  return createRequire(path.join(dir, 'package.json'))('atlas-ports')
}
