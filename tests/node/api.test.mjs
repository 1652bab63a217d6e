// Every export of require('atlas-ports'), on the reference design's examples and on bad input.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { atlas, addWorktree, codeOf, freeBlock, gitRepo, registryWith, tempDir } from './support.mjs'

const referenceRegistry = () => {
  const dir = tempDir()
  const registry = path.join(dir, '.atlas', 'worktrees', 'ports.json')
  atlas.initRegistrySync({ registry })
  return registry
}

test('the four functions of the reference design, on its examples', async () => {
  // The default ranges: 8080 must be free (the Rust end-to-end tests need it too).
  assert.equal(atlas.checkPortAvailableSync(8080, { registry: referenceRegistry() }), true, 'port 8080 is free here')
  const registry = referenceRegistry()
  const o = { registry }
  assert.equal(atlas.allocatePortSync('web', 'review-GH-42', 'Frontend development server for PR #42', o), 8080)
  assert.equal(atlas.allocatePortSync('database', 'review-GH-42', 'PostgreSQL instance for PR #42 testing', o), 5432)
  assert.equal(atlas.allocatePortSync('testing', 'review-GH-42', 'Jest test server for PR #42', o), 9000)
  assert.equal(atlas.allocatePortSync('web', 'feature-search', undefined, o), 8081)

  const lines = atlas.listAllocatedPortsSync('review-GH-42', o).map((a) => `Port ${a.port} (${a.service}): ${a.description}`)
  assert.deepEqual(lines, [
    'Port 8080 (web): Frontend development server for PR #42',
    'Port 5432 (database): PostgreSQL instance for PR #42 testing',
    'Port 9000 (testing): Jest test server for PR #42',
  ])
  const a = atlas.listAllocatedPortsSync('review-GH-42', o)[0]
  assert.deepEqual(Object.keys(a).sort(), ['allocatedAt', 'allocatedBy', 'description', 'healthStatus', 'port', 'service', 'worktree'])
  assert.match(a.allocatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  assert.equal(a.healthStatus, 'unknown')

  assert.equal(atlas.checkPortAvailableSync(8080, o), false, 'allocated')
  assert.deepEqual(atlas.findNextPortSync('web', o), { service: 'web', port: 8082, start: 8080, end: 8099, allocated: [8080, 8081] })
  assert.equal(atlas.releasePortSync(8080, o), true)
  assert.equal(atlas.releasePortSync(8080, o), false, 'was not allocated')
  assert.equal(atlas.checkPortAvailableSync(8080, o), true)
  const stored = JSON.parse(fs.readFileSync(registry, 'utf8'))
  assert.equal(stored.metadata.total_allocations, 3)
  assert.ok(stored.allocations.every((x) => 'allocated_at' in x), 'the file keeps the snake_case schema')
})

test('ensurePort holds one port per worktree and service', async () => {
  const base = await freeBlock(3)
  const o = { registry: registryWith({ api: [base, base + 2] }) }
  const first = atlas.ensurePortSync('api', 'w', 'API', o)
  const before = fs.readFileSync(o.registry)
  assert.equal(atlas.ensurePortSync('api', 'w', 'API', o), first)
  assert.deepEqual(fs.readFileSync(o.registry), before, 'no write when the port is held')
  assert.equal(atlas.ensurePortSync('api', 'v', null, o), base + 1)
})

test('a canonical port the registry records is never allocated; a corrupt entry is named and nothing written', async () => {
  const base = await freeBlock(3)
  const o = { registry: registryWith({ api: [base, base + 2] }) }
  const reg = JSON.parse(fs.readFileSync(o.registry, 'utf8'))
  fs.writeFileSync(o.registry, JSON.stringify({ ...reg, canonical_ports: { [base]: 'web' } }, null, 2))
  assert.equal(atlas.allocatePortSync('api', 'a', null, o), base + 1)
  assert.equal(await atlas.ensurePort('api', 'b', null, o), base + 2)
  assert.deepEqual(JSON.parse(fs.readFileSync(o.registry, 'utf8')).canonical_ports, { [base]: 'web' }, 'kept as written')
  fs.writeFileSync(o.registry, JSON.stringify({ ...reg, canonical_ports: { [base]: '' } }, null, 2))
  const before = fs.readFileSync(o.registry)
  const e = codeOf(() => atlas.allocatePortSync('api', 'c', null, o))
  assert.equal(e.code, 'ERR_CORRUPT_REGISTRY')
  assert.match(e.message, new RegExp(`canonical_ports\\.${base}: must be a port from 1 to 65535 naming a service`))
  assert.deepEqual(fs.readFileSync(o.registry), before)
})

test('releasePort with a worktree resolves a duplicate; releaseWorktree releases all', async () => {
  const base = await freeBlock(4)
  const o = { registry: registryWith({ web: [base, base + 1], api: [base + 2, base + 3] }) }
  atlas.allocatePortSync('web', 'a', null, o)
  atlas.allocatePortSync('web', 'b', null, o)
  const reg = JSON.parse(fs.readFileSync(o.registry, 'utf8'))
  reg.allocations[1].port = base
  fs.writeFileSync(o.registry, JSON.stringify(reg))
  assert.equal(atlas.releasePortSync(base, { ...o, worktree: 'b' }), true)
  assert.deepEqual(atlas.listAllocatedPortsSync('a', o).map((x) => x.port), [base])
  atlas.allocatePortSync('api', 'a', null, o)
  const released = atlas.releaseWorktreeSync('a', o)
  assert.deepEqual(released.map((x) => x.port).sort(), [base, base + 2])
  assert.deepEqual(atlas.releaseWorktreeSync('a', o), [])
})

test('initRegistry creates once, and replaces only with force', () => {
  const dir = tempDir()
  const registry = path.join(dir, 'deep', 'ports.json')
  assert.equal(atlas.initRegistrySync({ registry }), registry)
  const e = codeOf(() => atlas.initRegistrySync({ registry }))
  assert.equal(e.code, 'ERR_REGISTRY_EXISTS')
  assert.equal(atlas.initRegistrySync({ registry, force: true }), registry)
  assert.deepEqual(Object.keys(JSON.parse(fs.readFileSync(registry, 'utf8')).ranges), ['web', 'database', 'testing', 'debug', 'api', 'cache'])
})

test('every error is an Error with a stable code, and leaves the registry as it was', async () => {
  const base = await freeBlock(2)
  const registry = registryWith({ tiny: [base, base + 1] })
  const o = { registry }
  atlas.allocatePortSync('tiny', 'a', null, o)
  const before = fs.readFileSync(registry)
  const cases = [
    ['ERR_UNKNOWN_SERVICE', () => atlas.allocatePortSync('nope', 'a', null, o), /valid services: tiny/],
    ['ERR_INVALID_ARGUMENT', () => atlas.allocatePortSync('', 'a', null, o), /must not be empty/],
    ['ERR_INVALID_ARGUMENT', () => atlas.allocatePortSync('tiny', 'bad\nname', null, o), /control character/],
    ['ERR_INVALID_ARGUMENT', () => atlas.allocatePortSync('tiny', 'w'.repeat(10_000), null, o), /longer than 255/],
    ['ERR_INVALID_PORT', () => atlas.releasePortSync(0, o), /'0'/],
    ['ERR_INVALID_PORT', () => atlas.releasePortSync(70000, o), /70000/],
    ['ERR_INVALID_PORT', () => atlas.releasePortSync(-1, o), /-1/],
    ['ERR_INVALID_PORT', () => atlas.checkPortAvailableSync(8080.5, o), /8080.5/],
    ['ERR_INVALID_PORT', () => atlas.checkPortAvailableSync(NaN, o), /NaN/],
    ['ENOENT', () => atlas.listAllocatedPortsSync('a', { registry: path.join(tempDir(), 'none.json') }), /no port registry at .*none.json; create one with initRegistry\(\)/],
  ]
  for (const [code, fn, message] of cases) {
    const e = codeOf(fn)
    assert.equal(e.code, code, `${fn}: ${e.message}`)
    assert.match(e.message, message)
  }
  atlas.allocatePortSync('tiny', 'b', null, o)
  const full = fs.readFileSync(registry)
  const exhausted = codeOf(() => atlas.allocatePortSync('tiny', 'c', null, o))
  assert.equal(exhausted.code, 'ERR_RANGE_EXHAUSTED')
  assert.deepEqual(fs.readFileSync(registry), full)
  assert.notDeepEqual(before, full)

  fs.writeFileSync(registry, full.subarray(0, full.length / 2))
  const half = fs.readFileSync(registry)
  const corrupt = codeOf(() => atlas.allocatePortSync('tiny', 'c', null, o))
  assert.equal(corrupt.code, 'ERR_CORRUPT_REGISTRY')
  assert.match(corrupt.message, /line \d+ column \d+/)
  assert.deepEqual(fs.readFileSync(registry), half)
})

test('a lock held too long is ERR_LOCK_TIMEOUT', async () => {
  const base = await freeBlock(1)
  const registry = registryWith({ web: [base, base] })
  const holder = spawn('flock', [`${registry}.lock`, 'sleep', '5'], { stdio: 'ignore' })
  await new Promise((r) => setTimeout(r, 300))
  process.env.ATLAS_PORTS_LOCK_TIMEOUT_MS = '200'
  try {
    const e = codeOf(() => atlas.allocatePortSync('web', 'w', null, { registry }))
    assert.equal(e.code, 'ERR_LOCK_TIMEOUT')
    assert.match(e.message, /ports\.json\.lock/)
  } finally {
    delete process.env.ATLAS_PORTS_LOCK_TIMEOUT_MS
    holder.kill()
  }
})

test('options.cwd finds the registry of the main worktree and the worktree name', async () => {
  const main = gitRepo()
  atlas.initRegistrySync({ cwd: main })
  const wt = addWorktree(main, 'feature-x')
  const base = await freeBlock(2)
  const registry = path.join(main, '.atlas', 'worktrees', 'ports.json')
  fs.writeFileSync(registry, fs.readFileSync(registryWith({ svc: [base, base + 1] })))
  assert.equal(atlas.allocatePortSync('svc', undefined, undefined, { cwd: path.join(wt) }), base)
  const [a] = atlas.listAllocatedPortsSync('feature-x', { cwd: main })
  assert.equal(a.worktree, 'feature-x')
  assert.equal(a.worktreePath, wt)
  assert.equal(atlas.listAllocatedPortsSync(undefined, { cwd: wt }).length, 1, 'the default worktree is the folder name')
  const outside = codeOf(() => atlas.allocatePortSync('svc', undefined, undefined, { registry, cwd: tempDir() }))
  assert.equal(outside.code, 'ERR_NOT_IN_WORKTREE')
  assert.match(outside.message, /not inside a git worktree; pass the worktree's name/)
})

test('getStatus and checkConflicts probe a real server in another process', async () => {
  const base = await freeBlock(3)
  const o = { registry: registryWith({ web: [base, base + 2] }) }
  atlas.allocatePortSync('web', 'w', 'live', o)
  atlas.allocatePortSync('web', 'w', 'dead', o)
  // getStatusSync blocks this event loop while probing, so this server lives in another
  // process (the Promise form answers a server in this process: see the healthCheck test).
  const server = spawn('python3', ['-m', 'http.server', String(base), '--bind', '127.0.0.1'], { stdio: 'ignore' })
  try {
    await waitListening(base)
    const status = atlas.getStatusSync(undefined, o)
    assert.equal(status.totalAllocated, 2)
    assert.deepEqual(status.ranges[0].available, [[base + 2, base + 2]])
    assert.equal(status.ranges[0].allocations[0].status, 'healthy')
    assert.equal(status.ranges[0].allocations[0].detail, 'HTTP 200 from GET /')
    assert.equal(status.ranges[0].allocations[0].pid, server.pid)
    assert.equal(status.ranges[0].allocations[1].status, 'not_running')

    const conflicts = atlas.checkConflictsSync(o)
    assert.equal(conflicts.mismatches.length, 1)
    assert.equal(conflicts.mismatches[0].port, base + 1)
    // No folder is recorded for worktree 'w', so ownership cannot be told: not a conflict.
    assert.equal(conflicts.systemConflicts.length, 0)
    assert.equal(conflicts.hasConflicts, false)
  } finally {
    server.kill()
  }
})

test('the async healthCheck runs off the main thread and stores what it saw', async () => {
  const base = await freeBlock(2)
  const o = { registry: registryWith({ web: [base, base + 1] }) }
  atlas.allocatePortSync('web', 'w', 'live', o)
  atlas.allocatePortSync('web', 'w', 'dead', o)
  const server = http.createServer((req, res) => res.end('ok'))
  await new Promise((r) => server.listen(base, '127.0.0.1', r))
  try {
    // The server is in this process: it can answer only because the probe does not block.
    const pending = atlas.healthCheck('w', o)
    assert.ok(pending instanceof Promise)
    const report = await pending
    assert.deepEqual(report.summary, { healthy: 1, notRunning: 1, unhealthy: 0, unknown: 0 })
    assert.equal(report.worktrees[0].allocations[0].detail, 'HTTP 200 from GET /')
    assert.equal(report.worktrees[0].allocations[0].pid, process.pid)
    const stored = atlas.listAllocatedPortsSync('w', o)
    assert.deepEqual(stored.map((x) => [x.healthStatus, x.processId]), [['healthy', process.pid], ['not_running', undefined]])
  } finally {
    server.close()
  }
  await assert.rejects(atlas.healthCheck(null, { registry: path.join(tempDir(), 'none.json') }), (e) => e instanceof Error && e.code === 'ENOENT')
})

async function waitListening(port) {
  const deadline = Date.now() + 15000
  for (;;) {
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (up) return
    if (Date.now() > deadline) throw new Error(`nothing listened on ${port}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

test('runCli is the command line, exit statuses included', async () => {
  const base = await freeBlock(2)
  const registry = registryWith({ web: [base, base + 1] })
  assert.equal(atlas.runCli(['allocate', '--service', 'web', '--worktree', 'w', '--registry', registry, '--quiet']), 0)
  assert.equal(atlas.runCli(['release', String(base + 1), '--registry', registry]), 1)
  assert.equal(atlas.runCli(['allocate', '--service', 'nope', '--worktree', 'w', '--registry', registry]), 2)
  assert.equal(atlas.runCli(['frobnicate']), 2)
  assert.equal(atlas.listAllocatedPortsSync('w', { registry }).length, 1)
})

test('an allocation records its repository and follows its worktree through git worktree move', async () => {
  const main = gitRepo()
  const b = await freeBlock(4)
  const dir = path.join(main, '.atlas', 'worktrees')
  fs.mkdirSync(dir, { recursive: true })
  const registry = registryWith({ web: [b, b + 3] }, dir)
  const wt = addWorktree(main, 'feat-node')
  const port = await atlas.ensurePort('web', null, null, { cwd: wt })
  const [a] = atlas.listAllocatedPortsSync('feat-node', { cwd: wt })
  assert.equal(a.repository, fs.realpathSync(path.join(main, '.git')))
  assert.equal(a.gitWorktree, 'feat-node')
  const moved = path.join(path.dirname(main), 'feat-node-moved')
  execFileSync('git', ['worktree', 'move', wt, moved], { cwd: main })
  assert.equal(await atlas.ensurePort('web', null, null, { cwd: moved }), port, 'the same port after the move')
  const all = JSON.parse(fs.readFileSync(registry, 'utf8')).allocations
  assert.deepEqual(all.map((x) => [x.worktree, x.port, x.worktree_path]), [['feat-node-moved', port, moved]])
})

test('a bigint port, runCli without an array and the type guard: coded errors, from require and import', async () => {
  assert.equal(codeOf(() => atlas.checkPortAvailableSync(8080n)).code, 'ERR_INVALID_PORT')
  await assert.rejects(atlas.checkPortAvailable(8080n), { code: 'ERR_INVALID_PORT', message: /invalid port bigint 8080n/ })
  assert.equal(codeOf(() => atlas.runCli('list')).code, 'ERR_INVALID_ARGUMENT')
  assert.equal(codeOf(() => atlas.runCli(['list', 3])).code, 'ERR_INVALID_ARGUMENT')
  assert.equal(atlas.isAtlasPortsError(codeOf(() => atlas.allocatePortSync('wbe', 'w', '', { registry: referenceRegistry() }))), true)
  assert.equal(atlas.isAtlasPortsError(new Error('x')), false)
  assert.equal(atlas.isAtlasPortsError({ code: 'ERR_IO', message: 'not an Error' }), false)
  const esm = await import(path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'npm', 'atlas-ports.mjs'))
  assert.equal(esm.__napiBindingTarget, 'native')
  assert.equal(esm.isAtlasPortsError, atlas.isAtlasPortsError)
  // The guard knows every code the declarations name.
  const declared = fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'npm', 'index.d.ts'), 'utf8')
    .match(/export interface AtlasPortsError \{\n  code: (.*)\n/)[1].split('|').map((c) => c.trim().replace(/'/g, ''))
  for (const code of declared) assert.equal(atlas.isAtlasPortsError(Object.assign(new Error(code), { code })), true, code)
})
