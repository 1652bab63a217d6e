// The Vite plugin with real Vite: two worktrees of one repository start `vite` at once, and
// each dev server answers on its own worktree's port.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { atlas, freeBlock, installedPackage, npmDir, registryWith } from './support.mjs'

test('two worktrees run vite at once, each on its own port', async () => {
  const { dir } = installedPackage()
  // The repository and its worktrees live inside the project, so they resolve its packages.
  fs.symlinkSync(path.join(npmDir, 'node_modules', 'vite'), path.join(dir, 'node_modules', 'vite'))
  const main = path.join(dir, 'repo')
  fs.mkdirSync(main)
  const git = (...args) => execFileSync('git', args, { cwd: main, stdio: 'pipe' })
  git('init', '-q')
  fs.writeFileSync(path.join(main, 'vite.config.mjs'), "import atlasPorts from 'atlas-ports/vite'\nexport default { plugins: [atlasPorts()] }\n")
  fs.writeFileSync(path.join(main, 'index.html'), '<!doctype html><title>app</title><p>hello</p>\n')
  git('add', '.')
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'app')
  const b = await freeBlock(4)
  const registry = path.join(main, '.atlas', 'worktrees', 'ports.json')
  fs.mkdirSync(path.dirname(registry), { recursive: true })
  fs.copyFileSync(registryWith({ web: [b, b + 3] }), registry)
  const trees = ['wt-a', 'wt-b'].map((name) => {
    const wt = path.join(dir, name)
    git('worktree', 'add', '-q', '-b', name, wt)
    return wt
  })
  const vite = path.join(dir, 'node_modules', 'vite', 'bin', 'vite.js')
  const servers = trees.map((wt) => spawn(process.execPath, [vite, '--logLevel', 'info'], { cwd: wt, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, NO_COLOR: '1' } }))
  const logs = servers.map(() => '')
  servers.forEach((s, i) => { s.stdout.on('data', (d) => (logs[i] += d)); s.stderr.on('data', (d) => (logs[i] += d)) })
  try {
    const ports = trees.map((wt) => atlas.ensurePortSync('web', undefined, undefined, { cwd: wt }))
    assert.notEqual(ports[0], ports[1])
    for (const [i, port] of ports.entries()) {
      const deadline = Date.now() + 30000
      let body
      while (!body) {
        body = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text(), () => undefined)
        if (!body) {
          assert.ok(Date.now() < deadline, `${trees[i]}'s vite never answered on ${port}: ${logs[i]}`)
          await new Promise((r) => setTimeout(r, 200))
        }
      }
      assert.match(body, /<p>hello<\/p>/)
      // (CI=true makes Vite colour its output whatever NO_COLOR says: the codes are dropped.)
      assert.match(logs[i].replace(/\x1b\[[0-9;]*m/g, ''), new RegExp(`localhost:${port}/`), 'vite says it listens on the worktree port')
    }
    const stored = JSON.parse(fs.readFileSync(registry, 'utf8')).allocations
    assert.deepEqual(stored.map((a) => [a.worktree, a.port]).sort(), [['wt-a', ports[0]], ['wt-b', ports[1]]].sort())
  } finally {
    for (const s of servers) process.kill(-s.pid, 'SIGTERM')
  }
})
