// node tests/bench/node.mjs — per-call wall time through the addon, against get-port (the npm
// ecosystem's way to find a free port) measured in the same run. Medians of batches.
import { createRequire } from 'node:module'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const npmDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'npm')
const require = createRequire(path.join(npmDir, 'package.json'))
const atlas = require(npmDir)
const { default: getPort } = await import(require.resolve('get-port'))

const runs = Number(process.env.BENCH_RUNS ?? 11)
const batch = 100
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-bench-'))
const registry = path.join(dir, 'ports.json')

/** A registry with 100 allocations in a 20,000-port range: allocate scans past them. */
function fresh() {
  const allocations = Array.from({ length: 100 }, (_, i) => ({
    port: 20000 + i, worktree: `wt-${i}`, service: 'bulk', allocated_at: '2025-12-31T10:00:00Z',
    allocated_by: 'bench@host', description: 'filler', process_id: null, health_status: 'unknown',
  }))
  const ranges = { bulk: { start: 20000, end: 39999, description: 'bench' } }
  fs.writeFileSync(registry, JSON.stringify({ ranges, allocations, metadata: { version: '1.0.0', last_updated: '', total_allocations: 100, schema_version: 1 } }, null, 2))
}

async function perCall(fn) {
  const samples = []
  for (let r = 0; r < runs; r++) {
    fresh()
    const start = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) await fn(i, r)
    samples.push(Number(process.hrtime.bigint() - start) / 1e3 / batch)
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)]
}

const opts = { registry }
const results = {
  'allocatePort (locked read-modify-write, flushed)': await perCall((i, r) => atlas.allocatePort('bulk', `b-${r}-${i}`, '', opts)),
  'ensurePort (port already held: read only)': await perCall(() => atlas.ensurePort('bulk', 'wt-5', '', opts)),
  'checkPortAvailable (registry + 4 binds)': await perCall(() => atlas.checkPortAvailable(45000, opts)),
  'get-port: await getPort() (baseline)': await perCall(() => getPort()),
  'get-port: await getPort({port: 45000})': await perCall(() => getPort({ port: 45000 })),
}
console.log(`per-call wall time, median of ${runs} batches of ${batch} calls (registry of 100 allocations)\n`)
const base = results['get-port: await getPort() (baseline)']
for (const [name, us] of Object.entries(results)) {
  console.log(`  ${name.padEnd(52)} ${us.toFixed(1).padStart(8)} µs   ${(us / base).toFixed(2)}× get-port`)
}
fs.rmSync(dir, { recursive: true, force: true })
