// The hostile-input table through the Node API: every refusal is an Error with a stable code,
// and the registry file is left byte for byte.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { atlas, codeOf, freeBlock, registryWith, tempDir } from './support.mjs'

const valid = '{"ranges": {"web": {"start": 8080, "end": 8099}}, "allocations": [{"port": 8080, "worktree": "w", "service": "web"}]}'

/** Every export that reads the registry, called on it. */
const calls = (o) => [
  () => atlas.allocatePortSync('web', 'w', null, o),
  () => atlas.ensurePortSync('web', 'w', null, o),
  () => atlas.releasePortSync(8080, o),
  () => atlas.releaseWorktreeSync('w', o),
  () => atlas.checkPortAvailableSync(8080, o),
  () => atlas.listAllocatedPortsSync('w', o),
  () => atlas.findNextPortSync('web', o),
  () => atlas.getStatusSync(null, o),
  () => atlas.checkConflictsSync(o),
]

async function refusedEverywhere(contents, message) {
  const registry = path.join(tempDir(), 'ports.json')
  fs.writeFileSync(registry, contents)
  for (const call of calls({ registry })) {
    const e = codeOf(call)
    assert.equal(e.code, 'ERR_CORRUPT_REGISTRY', `${call}: ${e.message}`)
    assert.match(e.message, message)
    assert.ok(e.message.includes(registry), 'the message names the file')
  }
  await assert.rejects(atlas.healthCheck(null, { registry }), (e) => e instanceof Error && e.code === 'ERR_CORRUPT_REGISTRY')
  assert.deepEqual(fs.readFileSync(registry), Buffer.from(contents), 'the registry is unchanged')
}

test('corrupt and invalid registries', async () => {
  await refusedEverywhere('', /the file is empty/)
  await refusedEverywhere(valid.slice(0, valid.length / 2), /EOF while parsing/)
  await refusedEverywhere('[1, 2, 3]', /expected a port registry object/)
  await refusedEverywhere(valid.replace('8080, "worktree"', '"8080", "worktree"'), /allocations\[0\]\.port: invalid type: string "8080"/)
  await refusedEverywhere(valid.replace('8099', '8000'), /ranges\.web: start 8080 is greater than end 8000/)
  await refusedEverywhere(valid.replace('8080, "worktree"', '70000, "worktree"'), /allocations\[0\]\.port: invalid value: integer `70000`/)
  await refusedEverywhere(' '.repeat(100 << 20), /the file is empty/)
})

test('bad ports, services and worktree names', async () => {
  const b = await freeBlock(2)
  const registry = registryWith({ web: [b, b + 1] })
  const o = { registry }
  const before = fs.readFileSync(registry)
  for (const port of [0, 65536, -1, 8080.5, NaN, '80x', '', '-1', '65536']) {
    for (const fn of [() => atlas.releasePortSync(port, o), () => atlas.checkPortAvailableSync(port, o)]) {
      const e = codeOf(fn)
      assert.equal(e.code, 'ERR_INVALID_PORT', `${JSON.stringify(port)}: ${e.message}`)
      assert.match(e.message, /expected an integer from 1 to 65535/)
    }
  }
  // A port is a number, as in Node's own net API: a numeric string is refused, not guessed at.
  const text = codeOf(() => atlas.checkPortAvailableSync(String(b + 1), o))
  assert.equal(text.code, 'ERR_INVALID_PORT')
  assert.match(text.message, /invalid port string "\d+": expected an integer from 1 to 65535 \(a number\)/)
  assert.equal(atlas.checkPortAvailableSync(b + 1, o), true)
  const cases = [
    ['', 'w', 'ERR_INVALID_ARGUMENT', /must not be empty/],
    ['nope', 'w', 'ERR_UNKNOWN_SERVICE', /valid services: web/],
    ['we\nb', 'w', 'ERR_INVALID_ARGUMENT', /U\+000A/],
    ['web', 'w\u0000x', 'ERR_INVALID_ARGUMENT', /control character/],
    ['web', 'w\u001b[31m', 'ERR_INVALID_ARGUMENT', /control character/],
    ['web', 'w'.repeat(10_000), 'ERR_INVALID_ARGUMENT', /longer than 255/],
    ['web', '', 'ERR_INVALID_ARGUMENT', /must not be empty/],
  ]
  for (const [service, worktree, code, message] of cases) {
    for (const fn of [() => atlas.allocatePortSync(service, worktree, null, o), () => atlas.ensurePortSync(service, worktree, null, o)]) {
      const e = codeOf(fn)
      assert.equal(e.code, code, `${JSON.stringify([service, worktree.slice(0, 20)])}: ${e.message}`)
      assert.match(e.message, message)
      assert.ok(e.message.length < 400, 'a huge name is shortened in the message')
    }
  }
  assert.deepEqual(fs.readFileSync(registry), before)
})

test('a registry path that is a directory, or a dangling symlink', () => {
  const dir = tempDir()
  const asDir = path.join(dir, 'ports.json')
  fs.mkdirSync(asDir)
  const e = codeOf(() => atlas.listAllocatedPortsSync('w', { registry: asDir }))
  assert.equal(e.code, 'ERR_UNUSABLE_FILE')
  assert.match(e.message, /ports\.json as a port registry: it is a folder, not a file/)
  const link = path.join(dir, 'link.json')
  fs.symlinkSync(path.join(dir, 'gone.json'), link)
  const missing = codeOf(() => atlas.allocatePortSync('web', 'w', null, { registry: link }))
  assert.equal(missing.code, 'ERR_UNUSABLE_FILE')
  assert.match(missing.message, /it is a symbolic link to .*gone\.json, which does not exist/)
  assert.ok(fs.lstatSync(link).isSymbolicLink())
  assert.ok(!fs.existsSync(path.join(dir, 'gone.json')))
  // A hand-edited registry's control characters never reach a message raw.
  const evil = path.join(dir, 'evil.json')
  fs.writeFileSync(evil, '{"ranges": {"web\\u001b[2J": {"start": 9000, "end": 8000}}, "allocations": []}')
  const corrupt = codeOf(() => atlas.listAllocatedPortsSync('w', { registry: evil }))
  assert.equal(corrupt.code, 'ERR_CORRUPT_REGISTRY')
  assert.ok(!corrupt.message.includes('\u001b') && corrupt.message.includes('web\\u{1b}[2J'), corrupt.message)
})

test('lock timeouts in a long-lived process leave no thread and no descriptor behind', { skip: process.platform !== 'linux' && 'counts /proc/self' }, async () => {
  const b = await freeBlock(2)
  const registry = registryWith({ web: [b, b + 1] })
  const before = fs.readFileSync(registry)
  // Another process holds the lock for the whole test.
  const { spawn } = await import('node:child_process')
  const holder = spawn('flock', ['-o', `${registry}.lock`, 'sleep', '60'], { stdio: 'ignore' })
  try {
    await new Promise((resolve) => setTimeout(resolve, 300))
    const count = (dir) => fs.readdirSync(dir).length
    process.env.ATLAS_PORTS_LOCK_TIMEOUT_MS = '2'
    assert.equal(codeOf(() => atlas.allocatePortSync('web', 'w', null, { registry })).code, 'ERR_LOCK_TIMEOUT')
    // libuv's thread pool starts its threads on first use: start them before counting.
    await Promise.allSettled(Array.from({ length: 8 }, () => atlas.allocatePort('web', 'w', null, { registry })))
    const threads = count('/proc/self/task')
    const fds = count('/proc/self/fd')
    for (let i = 0; i < 1500; i++) {
      assert.equal(codeOf(() => atlas.allocatePortSync('web', 'w', null, { registry })).code, 'ERR_LOCK_TIMEOUT')
    }
    const settled = await Promise.allSettled(Array.from({ length: 200 }, () => atlas.allocatePort('web', 'w', null, { registry })))
    assert.ok(settled.every((s) => s.status === 'rejected' && s.reason.code === 'ERR_LOCK_TIMEOUT'))
    assert.ok(count('/proc/self/task') <= threads + 2, `threads ${threads} -> ${count('/proc/self/task')}`)
    assert.ok(count('/proc/self/fd') <= fds + 2, `fds ${fds} -> ${count('/proc/self/fd')}`)
  } finally {
    delete process.env.ATLAS_PORTS_LOCK_TIMEOUT_MS
    holder.kill()
  }
  await new Promise((resolve) => holder.on('exit', resolve))
  assert.deepEqual(fs.readFileSync(registry), before)
  assert.equal(atlas.allocatePortSync('web', 'w', null, { registry }), b, 'the lock is usable again')
})
