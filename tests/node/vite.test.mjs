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

/** Starts `vite ARGS` in `cwd` and waits until its log matches `ready`; returns its log. */
async function viteUntil(dir, cwd, args, ready) {
  const vite = path.join(dir, 'node_modules', 'vite', 'bin', 'vite.js')
  const child = spawn(process.execPath, [vite, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, NO_COLOR: '1' } })
  let log = ''
  child.stdout.on('data', (d) => (log += d))
  child.stderr.on('data', (d) => (log += d))
  const exited = new Promise((resolve) => child.on('exit', resolve))
  try {
    const deadline = Date.now() + 30000
    while (!ready.test(log.replace(/\x1b\[[0-9;]*m/g, ''))) {
      const code = await Promise.race([exited, new Promise((r) => setTimeout(r, 100, 'running'))])
      assert.ok(code === 'running' && Date.now() < deadline, `vite ${args.join(' ')} (exit ${code}): ${log}`)
    }
    return log.replace(/\x1b\[[0-9;]*m/g, '')
  } finally {
    try { process.kill(-child.pid, 'SIGTERM') } catch {}
    await exited
  }
}

test('the plugin stays out of the way: vite build, an explicit --port, outside git; vite preview uses its own service', async () => {
  const { dir } = installedPackage()
  if (!fs.existsSync(path.join(dir, 'node_modules', 'vite'))) fs.symlinkSync(path.join(npmDir, 'node_modules', 'vite'), path.join(dir, 'node_modules', 'vite'))
  const app = (where, options) => {
    fs.mkdirSync(where, { recursive: true })
    fs.writeFileSync(path.join(where, 'vite.config.mjs'), `import atlasPorts from 'atlas-ports/vite'\nexport default { plugins: [atlasPorts(${options})] }\n`)
    fs.writeFileSync(path.join(where, 'index.html'), '<!doctype html><title>app</title><p>hello</p>\n')
  }
  const vite = path.join(dir, 'node_modules', 'vite', 'bin', 'vite.js')
  const build = (cwd) => execFileSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd, encoding: 'utf8', stdio: 'pipe' })

  // Outside a git worktree (a Docker build): vite build and the dev server work, nothing is made.
  const loose = path.join(dir, 'loose')
  app(loose, '')
  build(loose)
  assert.ok(fs.existsSync(path.join(loose, 'dist', 'index.html')))
  const devLog = await viteUntil(dir, loose, [], /Local:\s+http:\/\/localhost:\d+\//)
  assert.match(devLog, /not in a git worktree, so Vite chooses its own port/)
  assert.ok(!fs.existsSync(path.join(loose, '.atlas')), 'no registry outside a worktree')

  // In a worktree: build allocates nothing; an explicit --port is kept; preview gets its service.
  const repo = path.join(dir, 'repo2')
  app(repo, "{ preview: 'web-preview' }")
  execFileSync('git', ['init', '-q'], { cwd: repo })
  const b = await freeBlock(4)
  const registry = path.join(repo, '.atlas', 'worktrees', 'ports.json')
  fs.mkdirSync(path.dirname(registry), { recursive: true })
  fs.copyFileSync(registryWith({ web: [b, b + 1], 'web-preview': [b + 2, b + 3] }), registry)
  const allocations = () => JSON.parse(fs.readFileSync(registry, 'utf8')).allocations.map((a) => [a.service, a.port])
  build(repo)
  assert.deepEqual(allocations(), [], 'vite build allocates nothing')
  const explicit = (await freeBlock(1))
  const log = await viteUntil(dir, repo, ['--port', String(explicit), '--strictPort'], new RegExp(`localhost:${explicit}/`))
  assert.match(log, new RegExp(`server.port ${explicit} was given explicitly`))
  assert.deepEqual(allocations(), [], 'an explicit --port allocates nothing')
  await viteUntil(dir, repo, ['preview'], new RegExp(`localhost:${b + 2}/`))
  assert.deepEqual(allocations(), [['web-preview', b + 2]])
})

test('the plugin refuses an unknown option, and allocates nothing for Vitest (mode test)', async () => {
  const atlasPorts = (await import(path.join(npmDir, 'vite.mjs'))).default
  assert.throws(() => atlasPorts({ servise: 'api' }), { code: 'ERR_INVALID_ARGUMENT', message: /unknown option 'servise' \(did you mean 'service'\?\)/ })
  assert.throws(() => atlasPorts({ service: 3000 }), { code: 'ERR_INVALID_ARGUMENT', message: /'service' must be a string/ })
  const plugin = atlasPorts({ service: 'web', cwd: '/' })
  assert.equal(await plugin.config({}, { command: 'serve', mode: 'test' }), undefined)
  assert.equal(await plugin.config({}, { command: 'build', mode: 'production' }), undefined)
  assert.equal(await plugin.config({}, { command: 'serve', mode: 'development', isPreview: true }), undefined, 'no preview service: Vite keeps its own preview port')
})
