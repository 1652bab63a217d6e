// One scenario, two implementations (the lightningcss pattern): the native addon on a registry
// file, with busy ports held by real listeners, and the WebAssembly package on the same registry
// in memory, with the same ports passed in as busy. Wherever a function exists in both, the
// answers must agree. ATLAS_PORTS_IMPL=native or =wasm runs the scenario on one alone.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { atlas, freeBlock, tempDir, wasm } from './support.mjs'

/** Holds ports busy with real listeners while `fn` runs (the native probe binds for real). */
async function whileBusy(ports, fn) {
  const servers = await Promise.all(
    ports.map((port) => new Promise((resolve, reject) => {
      const s = net.createServer()
      s.once('error', reject)
      s.listen({ port, host: '::' }, () => resolve(s))
    })),
  )
  try {
    return fn()
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  }
}

const implementations = {
  native(text) {
    const registry = path.join(tempDir(), 'ports.json')
    fs.writeFileSync(registry, text)
    const o = { registry }
    return {
      allocatePort: (s, w, d, busy = []) => whileBusy(busy, () => atlas.allocatePortSync(s, w, d, o)),
      ensurePort: (s, w, d, busy = []) => whileBusy(busy, () => atlas.ensurePortSync(s, w, d, o)),
      findNextPort: (s, busy = []) => whileBusy(busy, () => atlas.findNextPortSync(s, o)),
      releasePort: (p, w) => atlas.releasePortSync(p, { ...o, worktree: w }),
      releaseWorktree: (w) => atlas.releaseWorktreeSync(w, o),
      listAllocatedPorts: (w) => atlas.listAllocatedPortsSync(w, o),
      checkConflicts: () => atlas.checkConflictsSync(o),
      toJson: () => fs.readFileSync(registry, 'utf8'),
    }
  },
  wasm(text) {
    const reg = new wasm.PortRegistry(text)
    return {
      allocatePort: (s, w, d, busy = []) => reg.allocatePort(s, w, d, { busy }),
      ensurePort: (s, w, d, busy = []) => reg.ensurePort(s, w, d, { busy }),
      findNextPort: (s, busy = []) => reg.findNextPort(s, { busy }),
      releasePort: (p, w) => reg.releasePort(p, w),
      releaseWorktree: (w) => reg.releaseWorktree(w),
      listAllocatedPorts: (w) => reg.listAllocatedPorts(w),
      checkConflicts: () => reg.checkConflicts(),
      toJson: () => reg.toJson(),
    }
  },
}

/** Runs the scenario and returns what every step answered (errors as their code). */
async function transcript(open, text, b) {
  const out = []
  const step = async (name, fn) => {
    try {
      out.push([name, await fn()])
    } catch (e) {
      out.push([name, { error: e.code, isError: e instanceof Error }])
    }
  }
  const r = open(text)
  await step('allocate', () => r.allocatePort('svc', 'a', 'first'))
  await step('allocate skipping busy', () => r.allocatePort('svc', 'b', undefined, [b + 1, b + 2]))
  await step('ensure held', () => r.ensurePort('svc', 'a', 'ignored'))
  await step('ensure new', () => r.ensurePort('web', 'a', undefined, [b + 5]))
  await step('find next busy', () => r.findNextPort('svc', [b + 1]))
  await step('list a', () => r.listAllocatedPorts('a'))
  await step('release b wrong worktree', () => r.releasePort(b + 3, 'nobody'))
  await step('release b', () => r.releasePort(b + 3, 'b'))
  await step('release again', () => r.releasePort(b + 3))
  await step('unknown service', () => r.allocatePort('nope', 'a'))
  await step('port 0', () => r.releasePort(0))
  await step('port 70000', () => r.releasePort(70000))
  await step('empty worktree', () => r.allocatePort('svc', ''))
  await step('exhaust', async () => [
    await r.allocatePort('one', 'x'),
    await Promise.resolve().then(() => r.allocatePort('one', 'y')).catch((e) => e.code),
  ])
  await step('release worktree a', () => r.releaseWorktree('a'))
  await step('registry conflicts', () => {
    const c = r.checkConflicts()
    // The native side also probes (mismatches, system conflicts): compare the registry level.
    return { registryConflicts: c.registryConflicts, problems: c.problems, hasConflicts: c.hasConflicts }
  })
  await step('file', () => {
    const json = JSON.parse(r.toJson())
    json.metadata.last_updated = '…'
    for (const a of json.allocations) Object.assign(a, { allocated_at: '…', allocated_by: '…' })
    return json
  })
  await step('corrupt registry', () => open('{"ranges": {}, "allocations": [').listAllocatedPorts('a'))
  return out.map(([name, value]) => [name, scrub(value)])
}

/** Times and identities differ by nature (the clock, the user): everything else must not. */
function scrub(value) {
  return JSON.parse(JSON.stringify(value ?? null, (k, v) => (k === 'allocatedAt' || k === 'allocatedBy' ? '…' : v)))
}

function registryText(b) {
  return JSON.stringify({
    owner: { team: 'platform' },
    ranges: {
      svc: { start: b, end: b + 4, description: 'services', health_path: '/up' },
      web: { start: b + 5, end: b + 7 },
      one: { start: b + 8, end: b + 8 },
      overlapping: { start: b + 7, end: b + 8 },
    },
    allocations: [
      { port: b + 6, worktree: 'c', service: 'web', ticket: 42 },
      { port: b + 6, worktree: 'd', service: 'web' },
      { port: 1, worktree: 'e', service: 'legacy' },
    ],
    metadata: { version: '1.0.0', last_updated: '', total_allocations: 3, schema_version: 1, mirror: true },
  }, null, 2)
}

const chosen = process.env.ATLAS_PORTS_IMPL ? [process.env.ATLAS_PORTS_IMPL] : Object.keys(implementations)

test(`the scenario on ${chosen.join(' and ')} answers as expected`, async () => {
  const b = await freeBlock(9)
  for (const name of chosen) {
    const t = Object.fromEntries(await transcript(implementations[name], registryText(b), b))
    assert.equal(t.allocate, b, name)
    assert.equal(t['allocate skipping busy'], b + 3, name)
    assert.equal(t['ensure held'], b, name)
    assert.equal(t['ensure new'], b + 7, `${name}: b+5 busy, b+6 held by two entries`)
    assert.equal(t['find next busy'].port, b + 2, name)
    assert.deepEqual(t['release b wrong worktree'], false)
    assert.deepEqual([t['release b'], t['release again']], [true, false])
    assert.deepEqual(t['unknown service'], { error: 'ERR_UNKNOWN_SERVICE', isError: true })
    assert.deepEqual(t['port 0'], { error: 'ERR_INVALID_PORT', isError: true })
    assert.deepEqual(t['port 70000'], { error: 'ERR_INVALID_PORT', isError: true })
    assert.deepEqual(t['empty worktree'], { error: 'ERR_INVALID_ARGUMENT', isError: true })
    assert.deepEqual(t.exhaust, [b + 8, 'ERR_RANGE_EXHAUSTED'])
    assert.deepEqual(t['registry conflicts'].problems.map((p) => p.kind), ['unknown_service', 'overlapping_ranges', 'overlapping_ranges'])
    assert.deepEqual(t['registry conflicts'].registryConflicts.map((c) => c.port), [b + 6])
    assert.equal(t.file.owner.team, 'platform', 'unknown fields survive')
    assert.equal(t.file.allocations[0].ticket, 42)
    assert.deepEqual(t['corrupt registry'], { error: 'ERR_CORRUPT_REGISTRY', isError: true })
  }
})

test('native and wasm agree on every answer', { skip: chosen.length < 2 && 'one implementation chosen' }, async () => {
  const b = await freeBlock(9)
  const native = await transcript(implementations.native, registryText(b), b)
  const inMemory = await transcript(implementations.wasm, registryText(b), b)
  assert.deepEqual(inMemory, native)
})
