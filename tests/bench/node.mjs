// node tests/bench/node.mjs — per-call wall time through the addon (Promise and Sync forms),
// against get-port, portfinder and detect-port (the npm ecosystem's ways to find a free port)
// measured in the same run
// (medians of batches); then the longest event-loop stall of each Promise function while it
// works, against its Sync twin.
import { createRequire } from 'node:module'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import net from 'node:net'

const npmDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'npm')
const require = createRequire(path.join(npmDir, 'package.json'))
const atlas = require(npmDir)
const { default: getPort } = await import(require.resolve('get-port'))
const portfinder = require('portfinder')
const { detect } = require('detect-port')

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
  'allocatePortSync (locked read-modify-write, flushed)': await perCall((i, r) => atlas.allocatePortSync('bulk', `b-${r}-${i}`, '', opts)),
  'await allocatePort': await perCall((i, r) => atlas.allocatePort('bulk', `p-${r}-${i}`, '', opts)),
  'ensurePortSync (port already held: read only)': await perCall(() => atlas.ensurePortSync('bulk', 'wt-5', '', opts)),
  'await ensurePort': await perCall(() => atlas.ensurePort('bulk', 'wt-5', '', opts)),
  'checkPortAvailableSync (registry + 4 binds)': await perCall(() => atlas.checkPortAvailableSync(45000, opts)),
  'await checkPortAvailable': await perCall(() => atlas.checkPortAvailable(45000, opts)),
  'get-port: await getPort() (baseline)': await perCall(() => getPort()),
  'get-port: await getPort({port: 45000})': await perCall(() => getPort({ port: 45000 })),
  'portfinder: await getPortPromise({port: 45000})': await perCall(() => portfinder.getPortPromise({ port: 45000 })),
  'detect-port: await detect(45000)': await perCall(() => detect(45000)),
}
console.log(`per-call wall time, median of ${runs} batches of ${batch} calls (registry of 100 allocations)\n`)
const base = results['get-port: await getPort() (baseline)']
for (const [name, us] of Object.entries(results)) {
  console.log(`  ${name.padEnd(52)} ${us.toFixed(1).padStart(8)} µs   ${(us / base).toFixed(2)}× get-port`)
}

// Event-loop stalls: 50 allocations, half of them on listeners that accept and never answer
// (each HTTP probe waits out its timeout), the listeners in this process.
fresh()
/** Whether a server could listen on the port now. */
const bindable = (port) => new Promise((resolve) => {
  const s = net.createServer()
  s.once('error', () => resolve(false))
  s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
})
/** The first of 50 consecutive free ports from 46000 (another program may hold some). */
async function freeBlock() {
  for (let base = 46000; base < 60000; base += 50) {
    let ok = true
    for (let p = base; p < base + 50 && ok; p++) ok = await bindable(p)
    if (ok) return base
  }
  throw new Error('no 50 free ports between 46000 and 60000')
}
const base50 = await freeBlock()
const reg = JSON.parse(fs.readFileSync(registry, 'utf8'))
reg.ranges.web = { start: base50, end: base50 + 49, description: 'stall' }
reg.allocations.push(...Array.from({ length: 50 }, (_, i) => ({ port: base50 + i, worktree: `s-${i}`, service: 'web' })))
fs.writeFileSync(registry, JSON.stringify(reg))
const silent = await Promise.all(Array.from({ length: 25 }, (_, i) => new Promise((resolve) => {
  const server = net.createServer(() => {})
  server.listen(base50 + i, '127.0.0.1', () => resolve(server))
})))
/** The longest gap between ticks of a 1 ms timer while `fn` works (a blocked loop cannot tick). */
async function stall(fn) {
  let last = performance.now()
  let longest = 0
  const ticker = setInterval(() => {
    const now = performance.now()
    longest = Math.max(longest, now - last)
    last = now
  }, 1)
  await new Promise((r) => setTimeout(r, 10))
  longest = 0
  last = performance.now()
  await fn()
  await new Promise((r) => setTimeout(r, 10))
  clearInterval(ticker)
  return longest
}
const calls = {
  getStatus: [() => atlas.getStatus(undefined, opts), () => atlas.getStatusSync(undefined, opts)],
  checkConflicts: [() => atlas.checkConflicts(opts), () => atlas.checkConflictsSync(opts)],
  healthCheck: [() => atlas.healthCheck('s-0', opts), () => atlas.healthCheckSync('s-0', opts)],
  allocatePort: [() => atlas.allocatePort('bulk', 'stall-a', '', opts), () => atlas.allocatePortSync('bulk', 'stall-b', '', opts)],
  ensurePort: [() => atlas.ensurePort('bulk', 'wt-5', '', opts), () => atlas.ensurePortSync('bulk', 'wt-5', '', opts)],
  listAllocatedPorts: [() => atlas.listAllocatedPorts('wt-5', opts), () => atlas.listAllocatedPortsSync('wt-5', opts)],
  checkPortAvailable: [() => atlas.checkPortAvailable(45000, opts), () => atlas.checkPortAvailableSync(45000, opts)],
  findNextPort: [() => atlas.findNextPort('bulk', opts), () => atlas.findNextPortSync('bulk', opts)],
}
console.log('\nlongest event-loop stall while the call works (registry of 150, 25 silent listeners in this process;\na 1 ms timer ticks late by about a millisecond even on an idle loop)\n')
for (const [name, [promised, sync]] of Object.entries(calls)) {
  const p = await stall(promised)
  const s = await stall(sync)
  console.log(`  ${name.padEnd(20)} Promise ${p.toFixed(1).padStart(8)} ms   Sync ${s.toFixed(1).padStart(8)} ms`)
}
for (const s of silent) s.close()
fs.rmSync(dir, { recursive: true, force: true })
