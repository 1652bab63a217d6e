// Every function as a Promise (run off the main thread) and a Sync twin, with the arguments a
// JavaScript library checks: a Promise form rejects, it never throws. Through the package as a
// project installs it from the packed tarball.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import fs from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { freeBlock, installedAtlas, registryWith, tempDir } from './support.mjs'

const atlas = installedAtlas()

const FUNCTIONS = ['allocatePort', 'ensurePort', 'releasePort', 'releaseWorktree', 'checkPortAvailable', 'listAllocatedPorts',
  'findNextPort', 'initRegistry', 'getStatus', 'checkConflicts', 'healthCheck']

test('every function has a Promise form and a Sync twin that agree', async () => {
  const b = await freeBlock(4)
  const o = { registry: registryWith({ web: [b, b + 3] }) }
  for (const name of FUNCTIONS) {
    assert.equal(typeof atlas[name], 'function', name)
    assert.equal(typeof atlas[`${name}Sync`], 'function', `${name}Sync`)
  }
  const port = atlas.allocatePort('web', 'a', 'first', o)
  assert.ok(port instanceof Promise)
  assert.equal(await port, b)
  assert.equal(atlas.allocatePortSync('web', 'b', '', o), b + 1)
  assert.equal(await atlas.ensurePort('web', 'a', '', o), atlas.ensurePortSync('web', 'a', '', o))
  assert.deepEqual(await atlas.listAllocatedPorts('a', o), atlas.listAllocatedPortsSync('a', o))
  assert.deepEqual(await atlas.findNextPort('web', o), atlas.findNextPortSync('web', o))
  assert.equal(await atlas.checkPortAvailable(b, o), false)
  assert.equal(await atlas.releasePort(b + 1, o), true)
  assert.equal(atlas.releasePortSync(b + 1, o), false)
  assert.deepEqual((await atlas.releaseWorktree('a', o)).map((a) => a.port), [b])
  const status = await atlas.getStatus(undefined, o)
  assert.deepEqual(status, atlas.getStatusSync(undefined, o))
  assert.equal((await atlas.checkConflicts(o)).hasConflicts, false)
  const fresh = `${tempDir()}/ports.json`
  assert.equal(await atlas.initRegistry({ registry: fresh }), fresh)
  assert.equal(codeOfRejection(await settle(atlas.initRegistry({ registry: fresh }))), 'ERR_REGISTRY_EXISTS')
  assert.equal(atlas.initRegistrySync({ registry: fresh, force: true }), fresh)
  // A full range: findNextPort's port is null, as documented.
  atlas.allocatePortSync('web', 'x', '', o); atlas.allocatePortSync('web', 'x', '', o)
  atlas.allocatePortSync('web', 'x', '', o); atlas.allocatePortSync('web', 'x', '', o)
  assert.equal((await atlas.findNextPort('web', o)).port, null)
})

const settle = (p) => p.then((value) => ({ value }), (error) => ({ error }))
const codeOfRejection = ({ error }) => error?.code

test('a Promise form rejects on bad arguments, never throws; the Sync form throws the same', async () => {
  const o = { registry: registryWith({ web: [40000, 40001] }) }
  const cases = [
    ['allocatePort', [42], 'ERR_INVALID_ARGUMENT', /allocatePort\(\): service must be a string, got number 42/],
    ['allocatePort', ['web', 'w', '', { registery: 'typo' }], 'ERR_INVALID_ARGUMENT', /unknown member 'registery' \(expected registry, cwd, worktree, description, preferred, exclude\)/],
    ['ensurePort', ['web', 'w', '', { registry: 7 }], 'ERR_INVALID_ARGUMENT', /options\.registry must be a string, got number 7/],
    ['checkPortAvailable', ['8080', o], 'ERR_INVALID_PORT', /invalid port string "8080"/],
    ['releasePort', [70000, o], 'ERR_INVALID_PORT', /expected an integer from 1 to 65535/],
    ['findNextPort', [undefined, o], 'ERR_INVALID_ARGUMENT', /findNextPort\(\): service is required/],
    ['initRegistry', ['path'], 'ERR_INVALID_ARGUMENT', /options must be an object/],
    ['allocatePort', ['nope', 'w', '', o], 'ERR_UNKNOWN_SERVICE', /valid services: web/],
    ['listAllocatedPorts', ['w', { registry: `${tempDir()}/none.json` }], 'ENOENT', /no port registry at/],
  ]
  for (const [name, args, code, message] of cases) {
    let promise
    assert.doesNotThrow(() => { promise = atlas[name](...args) }, `${name} threw synchronously`)
    const { error } = await settle(promise)
    assert.ok(error instanceof Error, `${name}: rejected with an Error`)
    assert.equal(error.code, code, `${name}: ${error.message}`)
    assert.match(error.message, message)
    assert.throws(() => atlas[`${name}Sync`](...args), (e) => e instanceof Error && e.code === code && message.test(e.message))
  }
  assert.deepEqual(fs.readFileSync(o.registry, 'utf8').includes('"allocations": []'), true, 'nothing was written')
})

test('getStatus over 50 ports, half of them silent, leaves the event loop free', async () => {
  const b = await freeBlock(50)
  const o = { registry: registryWith({ web: [b, b + 49] }) }
  const text = JSON.parse(fs.readFileSync(o.registry, 'utf8'))
  text.allocations = Array.from({ length: 50 }, (_, i) => ({ port: b + i, worktree: `w${i}`, service: 'web' }))
  fs.writeFileSync(o.registry, JSON.stringify(text))
  // 25 listeners that accept and never answer (each HTTP probe waits out its timeout), and one
  // HTTP server, all in this process: they can be served only while the loop is free.
  const silent = await Promise.all(Array.from({ length: 25 }, (_, i) => listen(net.createServer(() => {}), b + i)))
  const web = await listen(http.createServer((req, res) => res.end('ok')), b + 25)
  const delay = monitorEventLoopDelay({ resolution: 5 })
  delay.enable()
  try {
    const status = await atlas.getStatus(undefined, o)
    delay.disable()
    const states = status.ranges[0].allocations
    assert.equal(states.filter((s) => s.status === 'unhealthy').length, 25)
    assert.equal(states.find((s) => s.allocation.port === b + 25).status, 'healthy', 'the server in this process answered')
    // Blocking would stall the loop for the whole probe (over a second); the bound is loose
    // for a busy machine. The benchmark (tests/bench/node.mjs) reports the figure.
    assert.ok(delay.max / 1e6 < 250, `the event loop stalled for ${delay.max / 1e6} ms`)
  } finally {
    for (const s of [...silent, web]) s.close()
  }
})

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

test('ensurePort moves off a port a foreign process took, and says so as a process warning', async () => {
  const { gitRepo } = await import('./support.mjs')
  const main = gitRepo()
  const b = await freeBlock(3)
  const registry = `${main}/.atlas/worktrees/ports.json`
  fs.mkdirSync(`${main}/.atlas/worktrees`, { recursive: true })
  fs.copyFileSync(registryWith({ web: [b, b + 2] }), registry)
  assert.equal(await atlas.ensurePort('web', undefined, undefined, { cwd: main }), b)
  // This process works outside the worktree: its listener is a foreign process.
  const foreign = await listen(net.createServer(() => {}), b)
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  try {
    const details = await atlas.ensurePortDetails('web', undefined, undefined, { cwd: main })
    assert.deepEqual([details.port, details.movedFrom, details.created], [b + 1, b, true])
    // The move is done: the next call returns the new port without a move.
    assert.equal(await atlas.ensurePort('web', undefined, undefined, { cwd: main }), b + 1)
    foreign.close()
    await listen(foreign, b + 1) // now the new port is taken, and the first one is free again
    assert.equal(atlas.ensurePortSync('web', undefined, undefined, { cwd: main }), b)
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(warnings.map((w) => [w.code, w.message]), [['ATLAS_PORTS_MOVED', `port ${b + 1} (web) is taken by another process; moved to ${b}`]])
  } finally {
    process.off('warning', onWarning)
    foreign.close()
  }
})

test('allocation takes a preferred port when it can and never an excluded one, as get-port does', async () => {
  const b = await freeBlock(6)
  const registry = registryWith({ web: [b, b + 5] })
  assert.equal(await atlas.ensurePort('web', { worktree: 'a', preferred: b + 3, registry }), b + 3)
  assert.equal(await atlas.ensurePort('web', { worktree: 'a', preferred: b + 4, registry }), b + 3, 'held: kept')
  assert.equal(atlas.allocatePortSync('web', { worktree: 'b', preferred: b + 3, registry }), b, 'taken: the first free')
  assert.equal(atlas.allocatePortSync('web', 'c', 'desc', { exclude: [b + 1, b + 2], registry }), b + 4)
  assert.equal(atlas.listAllocatedPortsSync('c', { registry })[0].description, 'desc')
  const bad = await settle(atlas.ensurePort('web', { worktree: 'd', preferred: '8085', registry }))
  assert.equal(bad.error.code, 'ERR_INVALID_PORT')
  assert.match(bad.error.message, /^ensurePort\(\): options\.preferred: invalid port string "8085"/)
  assert.throws(() => atlas.allocatePortSync('web', { worktree: 'd', exclude: [0], registry }), (e) => e.code === 'ERR_INVALID_PORT')
})
