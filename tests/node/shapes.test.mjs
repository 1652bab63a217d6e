// One output shape per report: the CLI's JSON (snake_case, `null` for an absent value), the
// Node addon's objects and the WebAssembly package's objects (camelCase, an absent value is an
// absent property) carry the same fields with the same values, for every report all three give.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { atlas, freeBlock, nativeBin, tempDir, wasm } from './support.mjs'

/** The CLI's JSON as JavaScript sees it: keys in camelCase, `null` members left out. */
function camel(value) {
  if (Array.isArray(value)) return value.map(camel)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), camel(v)]),
  )
}

/** Field names at every depth, for reports whose values differ by nature (live vs stored). */
function shape(value) {
  if (Array.isArray(value)) return value.length ? [shape(value[0])] : []
  if (value === null || typeof value !== 'object') return typeof value
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shape(value[k])]))
}

test('the CLI, Node and WebAssembly give every report in one shape', async () => {
  const b = await freeBlock(6)
  const text = JSON.stringify({
    ranges: {
      svc: { start: b, end: b + 3, description: 'services' },
      web: { start: b + 3, end: b + 5, description: 'overlaps svc' },
    },
    allocations: [
      { port: b, worktree: 'a', service: 'svc', allocated_at: '2025-12-31T10:00:00Z', allocated_by: 'u@h', description: 'first', process_id: null, health_status: 'unknown', worktree_path: '/src/a' },
      { port: b, worktree: 'b', service: 'svc', allocated_at: '2025-12-31T10:00:00Z', allocated_by: 'u@h', description: '', process_id: 4242, health_status: 'healthy' },
      { port: 7, worktree: 'a', service: 'legacy', allocated_at: '2025-12-31T10:00:00Z', allocated_by: 'u@h', description: '', process_id: null, health_status: 'not_running' },
    ],
    metadata: { version: '1.0.0', last_updated: '', total_allocations: 3, schema_version: 1 },
  }, null, 2)
  const registry = path.join(tempDir(), 'ports.json')
  fs.writeFileSync(registry, text)
  const cli = (...args) => {
    try {
      return camel(JSON.parse(execFileSync(nativeBin, ['--registry', registry, '--format', 'json', ...args], { encoding: 'utf8' })))
    } catch (e) {
      if (e.status === 1) return camel(JSON.parse(e.stdout)) // "no": conflicts found
      throw e
    }
  }
  const o = { registry }
  const mem = new wasm.PortRegistry(text)

  // Same values in all three.
  assert.deepEqual(cli('list', '--worktree', 'a'), atlas.listAllocatedPortsSync('a', o))
  assert.deepEqual(mem.listAllocatedPorts('a'), atlas.listAllocatedPortsSync('a', o))
  assert.deepEqual(cli('next', 'svc'), atlas.findNextPortSync('svc', o))
  assert.deepEqual(mem.findNextPort('svc'), atlas.findNextPortSync('svc', o))

  // Conflicts: the CLI and Node probe alike; WebAssembly sees the registry level only.
  const conflicts = atlas.checkConflictsSync(o)
  assert.deepEqual(cli('conflicts'), conflicts)
  const inMemory = mem.checkConflicts()
  assert.deepEqual(inMemory.registryConflicts, conflicts.registryConflicts)
  assert.deepEqual(inMemory.problems, conflicts.problems)
  assert.deepEqual(Object.keys(inMemory).sort(), Object.keys(conflicts).sort())
  assert.deepEqual(conflicts.summary, { conflicts: 1, mismatches: 3, problems: 2 })

  // Status: live in the CLI and Node (nothing listens here, so they agree); stored in wasm.
  const status = await atlas.getStatus(undefined, o)
  assert.deepEqual(cli('status', '--all'), status)
  assert.deepEqual(shape(mem.status()), shape(status))
  assert.equal(status.ranges[0].allocations[0].allocation.port, b)
  assert.equal(status.ranges[0].allocations[0].status, 'not_running')

  // A health check: the CLI and Node store and report alike (the first check stores what it
  // saw, so the two are compared once it is stored).
  await atlas.healthCheck('a', o)
  const health = await atlas.healthCheck('a', o)
  assert.deepEqual(cli('status', '--health-check', '--worktree', 'a'), health)
  assert.deepEqual(health.summary, { healthy: 0, notRunning: 2, unhealthy: 0, unknown: 0 })
})

test('every error code the core gives is in the TypeScript union and in the CLI docs, and no other', () => {
  const root = path.join(import.meta.dirname, '..', '..')
  const read = (file) => fs.readFileSync(path.join(root, file), 'utf8')
  // `Error::code` in the core: one `=> "CODE"` per variant.
  const core = read('core/src/error.rs')
  const body = core.slice(core.indexOf('pub fn code(&self)'), core.indexOf('pub(crate) fn io('))
  const codes = [...body.matchAll(/=> "([A-Z_]+)"/g)].map((m) => m[1])
  assert.ok(codes.length >= 13, `the codes were found in core/src/error.rs: ${codes}`)
  // The load failure, and waitForPort's timeout and abort, are the JavaScript front's own.
  const union = read('npm/index.d.ts').match(/code: ((?:'[A-Z_]+'(?: \| )?)+)/)[1]
  const front = ['ERR_NATIVE_BINDING_MISSING', 'ERR_NOT_READY', 'ABORT_ERR']
  assert.deepEqual([...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]).sort(), [...codes, ...front].sort())
  const table = read('docs/cli.md')
  for (const code of codes) assert.match(table, new RegExp(`^\\| \`${code}\` \\|`, 'm'), `docs/cli.md lists ${code}`)
})
