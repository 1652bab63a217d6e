// The addon runs inside people's dev servers and build tools: a user saving the registry in
// place (an editor, `cat copy > ports.json`) must never kill that process, and what the addon
// writes must be exactly what it checked. A child Node process calls the addon in a loop while
// this one rewrites a 20,000-allocation registry in place.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { npmDir, tempDir } from './support.mjs'

/** A registry of `count` allocations listed from the `rotate`-th on: every entry has one length,
 * so two rotations are one length with a shifted layout. */
function registry(count, rotate) {
  const allocations = Array.from({ length: count }, (_, k) => {
    const i = (k + rotate) % count
    return {
      port: 10000 + i, worktree: `wt-${String(i).padStart(5, '0')}`, service: 'bulk',
      allocated_at: '2025-12-31T10:00:00Z', allocated_by: 'bench@host', description: 'filler',
      process_id: null, health_status: 'unknown',
    }
  })
  const metadata = { version: '1.0.0', last_updated: '', total_allocations: count, schema_version: 1 }
  const ranges = { bulk: { start: 10000, end: 10000 + count + 999, description: 'bulk' } }
  return JSON.stringify({ ranges, allocations, metadata }, null, 2)
}

const child = `
const atlas = require(process.argv[1])
const registry = process.argv[2]
const codes = {}
let ok = 0, ensured = 0
for (let i = 0; i < 400; i++) {
  try {
    if (i % 4 === 3) { atlas.ensurePortSync('bulk', 'node-' + (i % 40), undefined, { registry }); ensured++ }
    else atlas.listAllAllocationsSync({ registry })
    ok++
  } catch (e) { codes[e.code] = (codes[e.code] ?? 0) + 1 }
}
console.log(JSON.stringify({ ok, ensured, codes }))
`

test('the addon survives a registry rewritten in place and writes back only what it checked', async () => {
  const dir = tempDir()
  const file = path.join(dir, 'ports.json')
  const layouts = [registry(20000, 0), registry(20000, 10000)]
  assert.equal(layouts[0].length, layouts[1].length)
  fs.writeFileSync(file, layouts[0])
  const proc = spawn(process.execPath, ['-e', child, npmDir, file], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stdout.on('data', (d) => { out += d })
  proc.stderr.on('data', (d) => { err += d })
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })))
  // Rewrite in place until the child is done: over the old bytes while the file has the layouts'
  // length, and every third time (or when the addon made it longer) truncated first, with a
  // short pause between saves.
  let done = false
  exited.then(() => { done = true })
  let rewrites = 0
  while (!done) {
    const sameLength = fs.statSync(file).size === layouts[0].length
    const fd = fs.openSync(file, rewrites % 3 === 2 || !sameLength ? 'w' : 'r+')
    fs.writeSync(fd, layouts[rewrites % 2])
    fs.closeSync(fd)
    rewrites++
    await new Promise((resolve) => setTimeout(resolve, 15))
  }
  const { code, signal } = await exited
  assert.equal(signal, null, `the child was killed by ${signal}: ${err}`)
  assert.equal(code, 0, err)
  const result = JSON.parse(out)
  for (const c of Object.keys(result.codes)) {
    assert.equal(c, 'ERR_CORRUPT_REGISTRY', `only a torn or changing registry is refused: ${out}`)
  }
  assert.ok(result.ok > 0, `some calls got a steady read: ${out}`)
  // Once the rewrites stop, the registry is a state of the file plus the addon's allocations,
  // never text changed after the addon checked it (which gave 5,017 allocations for 5,001).
  const json = JSON.parse(fs.readFileSync(file, 'utf8'))
  const ours = json.allocations.filter((a) => a.worktree.startsWith('node-')).length
  assert.equal(json.allocations.length, 20000 + ours)
  console.log(`${rewrites} rewrites in place; child: ${out.trim()}`)
})
