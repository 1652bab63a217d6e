// The package as users get it: `npm pack`, installed into a fresh project, where require,
// import, the TypeScript types, the load failure of a missing binary, `npx atlas-ports`, its
// dashboard and its background proxy work.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import http from 'node:http'
import { freeBlock, gitRepo, installedPackage, npmDir, registryWith, tempDir } from './support.mjs'

const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

test('npm pack installs into a fresh project: require, import, types and npx work', () => {
  const { dir: proj, packed } = installedPackage()
  const files = packed.files.map((f) => f.path).sort()
  assert.deepEqual(files, [
    'LICENSE', 'README.md', 'atlas-ports.d.ts', 'atlas-ports.js', 'atlas-ports.linux-x64-gnu.node', 'atlas-ports.mjs', 'bin/atlas-ports.js',
    'errors.js', 'index.d.ts', 'index.js', 'package.json', 'vite.d.mts', 'vite.d.ts', 'vite.js', 'vite.mjs',
  ])
  const manifest = JSON.parse(fs.readFileSync(path.join(proj, 'node_modules', 'atlas-ports', 'package.json'), 'utf8'))
  for (const key of ['repository', 'homepage', 'bugs', 'exports']) assert.ok(manifest[key], key)
  const registry = path.join(tempDir(), 'ports.json')
  sh(process.execPath, ['-e', `require('atlas-ports').initRegistrySync({ registry: ${JSON.stringify(registry)} })`], proj)

  // CommonJS: the Promise form and its Sync twin.
  const cjs = sh(process.execPath, ['-e', `
    const ap = require('atlas-ports')
    const o = { registry: ${JSON.stringify(registry)} }
    ap.ensurePort('testing', 'pkg', 'from require', o).then((port) => {
      process.stdout.write(port === ap.ensurePortSync('testing', 'pkg', '', o) ? String(port) : 'differs')
    })
  `], proj)
  assert.match(cjs, /^90\d\d$/)

  // ESM: named imports, the default export, and the Vite plugin's entry.
  fs.writeFileSync(path.join(proj, 'check.mjs'), `
    import atlas, { ensurePort, listAllocatedPortsSync } from 'atlas-ports'
    import atlasPorts from 'atlas-ports/vite'
    const registry = ${JSON.stringify(registry)}
    const port = await ensurePort('testing', 'pkg', 'from import', { registry })
    const plugin = atlasPorts({ service: 'testing', worktree: 'pkg', registry })
    const config = await plugin.config({}, { command: 'serve', mode: 'development' })
    console.log(port === atlas.ensurePortSync('testing', 'pkg', '', { registry }), listAllocatedPortsSync('pkg', { registry })[0].description, config.server.port === port, config.server.strictPort)
  `)
  assert.equal(sh(process.execPath, ['check.mjs'], proj), 'true from require true true\n')

  // TypeScript: the declarations are precise enough to reject a misuse.
  fs.writeFileSync(path.join(proj, 'check.ts'), `
    import { allocatePort, allocatePortSync, listAllocatedPortsSync, healthCheck, findNextPortSync, type Allocation, type HealthReport, type AtlasPortsError } from 'atlas-ports'
    import atlasPorts from 'atlas-ports/vite'
    const port: Promise<number> = allocatePort('web', 'w', 'dev server', { registry: '/tmp/ports.json', cwd: '.' })
    const now: number = allocatePortSync('web')
    const mine: Allocation[] = listAllocatedPortsSync()
    const when: Promise<HealthReport> = healthCheck('w')
    const healthy: number = mine.filter((a) => a.healthStatus === 'healthy').length + now
    const next: number | null = findNextPortSync('web').port
    const code: AtlasPortsError['code'] = 'ERR_UNKNOWN_SERVICE'
    const plugin = atlasPorts({ service: 'web' })
    const preferred: Promise<number> = allocatePort('web', { worktree: 'w', preferred: 8085, exclude: [8086] })
    // @ts-expect-error: a port is a number, not a string
    const wrong: string = allocatePortSync('web')
    // @ts-expect-error: options have no such member
    allocatePortSync('web', 'w', '', { registy: 'typo' })
    // @ts-expect-error: not a status
    mine.filter((a) => a.healthStatus === 'fine')
    // @ts-expect-error: not an error code
    const bad: AtlasPortsError['code'] = 'ERR_NOPE'
    // @ts-expect-error: exclude is a list of ports
    allocatePortSync('web', { exclude: 8086 })
    export { port, when, healthy, wrong, next, code, bad, plugin, preferred }
  `)
  fs.writeFileSync(path.join(proj, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: [] },
    files: ['check.ts'],
  }))
  sh(process.execPath, [path.join(npmDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', proj], proj)

  // npx runs the same CLI
  const version = JSON.parse(fs.readFileSync(path.join(npmDir, 'package.json'), 'utf8')).version
  assert.equal(sh('npx', ['--no-install', 'atlas-ports', '--version'], proj), `atlas-ports ${version}\n`)
  assert.equal(sh('npx', ['--no-install', 'atlas-ports', 'list', '--worktree', 'pkg', '--registry', registry], proj), 'Port 9000 (testing): from require\n')
})

test('a platform without a binary gets a coded error that says what to do', () => {
  const { dir: proj } = installedPackage()
  // The package as it is on a platform whose binary package is not installed.
  const bare = path.join(tempDir(), 'node_modules', 'atlas-ports')
  fs.cpSync(path.join(proj, 'node_modules', 'atlas-ports'), bare, { recursive: true })
  for (const f of fs.readdirSync(bare)) if (f.endsWith('.node')) fs.rmSync(path.join(bare, f))
  const out = sh(process.execPath, ['-e', `
    try { require(${JSON.stringify(bare)}) } catch (e) {
      console.log(JSON.stringify({ isError: e instanceof Error, code: e.code, message: e.message, platform: e.platform, package: e.package }))
    }
  `], proj)
  const e = JSON.parse(out)
  assert.equal(e.isError, true)
  assert.equal(e.code, 'ERR_NATIVE_BINDING_MISSING')
  assert.equal(e.platform, 'linux-x64-gnu')
  assert.equal(e.package, 'atlas-ports-linux-x64-gnu')
  assert.match(e.message, /cannot load its native addon on linux-x64-gnu: its package atlas-ports-linux-x64-gnu is not installed/)
  assert.match(e.message, /Supported platforms: linux-x64-gnu, linux-arm64-gnu, .*darwin-arm64/)
  assert.doesNotMatch(e.message, /npm has a bug/)
  // The bin says the same, as an error of the program.
  const bin = spawnSync(process.execPath, [path.join(bare, 'bin', 'atlas-ports.js'), '--version'], { encoding: 'utf8' })
  assert.equal(bin.status, 2)
  assert.match(bin.stderr, /^atlas-ports: error: atlas-ports cannot load its native addon on linux-x64-gnu/)
})

test('the installed package serves the dashboard: `npx atlas-ports dashboard` answers on its URL until stopped', async () => {
  const { dir: proj } = installedPackage()
  const registry = path.join(tempDir(), 'ports.json')
  sh('npx', ['--no-install', 'atlas-ports', 'init', '--registry', registry], proj)
  const child = spawn('npx', ['--no-install', 'atlas-ports', 'dashboard', '--port', '0', '--registry', registry, '--format', 'json'], { cwd: proj, stdio: ['ignore', 'pipe', 'inherit'], detached: true })
  try {
    const first = await new Promise((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(out.split('\n')[0]) })
      child.on('exit', (code) => reject(new Error(`dashboard exited ${code}`)))
    })
    const { url, port } = JSON.parse(first)
    assert.equal(url, `http://127.0.0.1:${port}/`)
    const page = await fetch(url)
    assert.equal(page.status, 200)
    assert.match(page.headers.get('content-security-policy'), /script-src 'self'/)
    assert.match(await page.text(), /<meta name="atlas-ports-token" content="[0-9a-f]{64}">/)
  } finally {
    process.kill(-child.pid, 'SIGTERM')
  }
})

test('the installed bin starts the background proxy as itself (Node and the bin, not Node alone): checkout forwards, proxy service names both', async () => {
  const { dir: proj } = installedPackage()
  const bin = path.join(proj, 'node_modules', '.bin', 'atlas-ports')
  const [web, canonical, proxyPort] = [await freeBlock(1), await freeBlock(1), await freeBlock(1)]
  const repo = gitRepo()
  fs.writeFileSync(path.join(repo, 'atlas-ports.toml'), `[proxy]\nport = ${proxyPort}\n[services.web]\ncanonical = ${canonical}\n`)
  fs.mkdirSync(path.join(repo, '.atlas', 'worktrees'), { recursive: true })
  registryWith({ web: [web, web] }, path.join(repo, '.atlas', 'worktrees'))
  const run = (...args) => spawnSync(bin, args, { cwd: repo, encoding: 'utf8' })
  assert.equal(run('up').status, 0)
  const server = http.createServer((_, res) => res.end('the main worktree\n'))
  await new Promise((resolve) => server.listen(web, '127.0.0.1', resolve))
  try {
    const out = run('checkout', 'web')
    assert.equal(out.status, 0, out.stderr)
    assert.match(out.stderr, new RegExp(`started the background proxy \\(pid \\d+\\) on http://127\\.0\\.0\\.1:${proxyPort}/`))
    assert.equal(await (await fetch(`http://127.0.0.1:${canonical}/`)).text(), 'the main worktree\n')
    const status = JSON.parse(run('proxy', 'status', '--format', 'json').stdout)
    assert.equal(status.running, true, JSON.stringify(status))
    const unit = run('proxy', 'service', 'systemd')
    assert.equal(unit.status, 0, unit.stderr)
    const script = fs.realpathSync(path.join(proj, 'node_modules', 'atlas-ports', 'bin', 'atlas-ports.js'))
    assert.ok(unit.stdout.includes(`ExecStart="${process.execPath}" "${script}" "dashboard" "--port" "${proxyPort}"`), unit.stdout)
    assert.doesNotMatch(unit.stderr, /warning/)
    // Run through npx from its cache, the file would name a path npm may clear: said so.
    const cached = '/home/me/.npm/_npx/0a1b/node_modules/atlas-ports/bin/atlas-ports.js'
    const pkg = path.join(proj, 'node_modules', 'atlas-ports')
    const viaNpx = spawnSync(process.execPath, ['-e', `process.exitCode = require(${JSON.stringify(pkg)}).runCli(['proxy', 'service', 'systemd'], { selfCommand: [process.execPath, ${JSON.stringify(cached)}] })`], { cwd: repo, encoding: 'utf8' })
    assert.equal(viaNpx.status, 0, viaNpx.stderr)
    assert.ok(viaNpx.stdout.includes(`"${cached}" "dashboard"`), viaNpx.stdout)
    assert.match(viaNpx.stderr, /warning: the service file runs \/home\/me\/\.npm\/_npx\/.*inside npx's cache, which npm may clear/)
  } finally {
    const stop = run('proxy', 'stop')
    server.close()
    assert.equal(stop.status, 0, stop.stderr)
  }
})
