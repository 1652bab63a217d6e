// Node processes and native CLI processes allocating from one registry at the same moment.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { freeBlock, nativeBin, npmDir, registryWith } from './support.mjs'

function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => resolve({ code, out, err }))
  })
}

test('30 Node and 30 CLI processes at once get distinct ports and lose nothing', async () => {
  const n = 60
  const base = await freeBlock(n)
  const registry = registryWith({ bulk: [base, base + n - 1] })
  const node = (i) =>
    run(process.execPath, ['-e', `process.stdout.write(String(require(${JSON.stringify(npmDir)}).allocatePortSync('bulk', 'node-${i}', '', { registry: ${JSON.stringify(registry)} })))`])
  const cli = (i) => run(nativeBin, ['allocate', '--service', 'bulk', '--worktree', `cli-${i}`, '--registry', registry, '--quiet'])
  const jobs = []
  for (let i = 0; i < n / 2; i++) jobs.push(node(i).then((r) => ({ ...r, who: `node-${i}` })), cli(i).then((r) => ({ ...r, who: `cli-${i}` })))
  const results = await Promise.all(jobs)
  for (const r of results) assert.equal(r.code, 0, `${r.who}: ${r.err}`)

  const reported = new Map(results.map((r) => [r.who, Number(r.out.trim())]))
  assert.equal(new Set(reported.values()).size, n, 'every process got its own port')
  for (const p of reported.values()) assert.ok(p >= base && p < base + n)

  const stored = JSON.parse(fs.readFileSync(registry, 'utf8'))
  assert.equal(stored.allocations.length, n)
  assert.equal(stored.metadata.total_allocations, n)
  assert.deepEqual(new Map(stored.allocations.map((a) => [a.worktree, a.port])), reported, 'the registry holds exactly what was reported')
})
