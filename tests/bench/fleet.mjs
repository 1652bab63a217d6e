// node tests/bench/fleet.mjs [WORKTREES] [WAVE] — a fleet of worktrees created and removed in
// waves by parallel processes, the native CLI and Node taking turns, in one real git repository
// whose worktrees are laid out as agent tools lay them (`tasks/<id>/repo`: every folder has the
// repository's name). Four services a worktree; each range holds twice a wave, so the later
// waves only get ports because the removed worktrees' ports are taken back (nothing runs
// `prune`). After every wave it checks that no two live worktrees share a port, that every
// process got the port the registry records for its worktree, and that nothing was lost; then
// prints the figures. Defaults: 200 worktrees in waves of 50. The Node test suite runs it
// smaller (tests/node/fleets.test.mjs); exits non-zero when an invariant breaks.
import { execFile, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const SERVICES = ['web', 'api', 'database', 'cache']

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** Runs `jobs` (functions returning Promises) with at most `limit` at once. */
async function pool(jobs, limit) {
  const results = new Array(jobs.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, async () => {
    while (next < jobs.length) {
      const i = next++
      results[i] = await jobs[i]()
    }
  }))
  return results
}

/**
 * The fleet run. `bin` is the native CLI; the services' ranges follow each other from `base`
 * (each holds two waves, with no port to spare). Returns the figures, and throws when an
 * invariant breaks.
 */
export async function fleet({ worktrees = 200, wave = 50, parallel = 8, bin, base = 40000, log = () => {} } = {}) {
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-fleet-')))
  try {
    const main = path.join(tmp, 'repo')
    fs.mkdirSync(main)
    const git = (...args) => execFileSync('git', args, { cwd: main, stdio: 'pipe' })
    git('init', '-q')
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'init')
    const size = 2 * wave
    const ranges = Object.fromEntries(SERVICES.map((s, i) => [s, { start: base + i * size, end: base + (i + 1) * size - 1, description: s }]))
    const registry = path.join(main, '.atlas', 'worktrees', 'ports.json')
    fs.mkdirSync(path.dirname(registry), { recursive: true })
    const metadata = { version: '1.0.0', last_updated: '', total_allocations: 0, schema_version: 1 }
    fs.writeFileSync(registry, JSON.stringify({ ranges, allocations: [], metadata }, null, 2))

    const node = process.execPath
    const addon = path.join(root, 'npm')
    const ensure = async (wt, service, viaNode) => {
      const started = process.hrtime.bigint()
      const { stdout } = viaNode
        ? await run(node, ['-e', `process.stdout.write(String(require(${JSON.stringify(addon)}).ensurePortSync(${JSON.stringify(service)})))`], { cwd: wt })
        : await run(bin, ['ensure', '--service', service, '-q'], { cwd: wt })
      return { port: Number(stdout.trim()), ms: Number(process.hrtime.bigint() - started) / 1e6 }
    }

    const live = [] // [{ path, got: { service: port } }]
    const cliMs = []
    const figures = { waves: [] }
    let created = 0
    while (created < worktrees) {
      const t0 = process.hrtime.bigint()
      // Remove the oldest wave once two are live: git worktree remove, nothing else.
      let removed = 0
      if (live.length >= size) {
        for (const wt of live.splice(0, wave)) {
          git('worktree', 'remove', '--force', wt.path)
          removed++
        }
      }
      const batch = []
      for (let i = 0; i < wave && created < worktrees; i++, created++) {
        const id = (0x1000 + created * 7919).toString(16)
        const wt = path.join(tmp, 'tasks', id, 'repo')
        fs.mkdirSync(path.dirname(wt), { recursive: true })
        git('worktree', 'add', '-q', '-b', `t-${id}`, wt)
        batch.push({ path: wt, got: {} })
      }
      const jobs = batch.flatMap((wt, w) => SERVICES.map((service, s) => async () => {
        const viaNode = (w + s) % 2 === 1
        const { port, ms } = await ensure(wt.path, service, viaNode)
        if (!viaNode) cliMs.push(ms)
        wt.got[service] = port
      }))
      await pool(jobs, parallel)
      live.push(...batch)
      const waveMs = Number(process.hrtime.bigint() - t0) / 1e6
      check(JSON.parse(fs.readFileSync(registry, 'utf8')), live, SERVICES)
      figures.waves.push({ created: batch.length, removed, live: live.length, ms: Math.round(waveMs) })
      log(`wave ${figures.waves.length}: +${batch.length} -${removed} worktrees, ${live.length} live, ${Math.round(waveMs)} ms`)
    }
    // Held ports: a second ensure from every live worktree answers the same, without a write.
    const before = fs.readFileSync(registry)
    const held = []
    for (const wt of live.slice(0, 40)) {
      const { port, ms } = await ensure(wt.path, 'web', false)
      if (port !== wt.got.web) throw new Error(`${wt.path}: held web port ${wt.got.web}, ensure said ${port}`)
      held.push(ms)
    }
    if (!before.equals(fs.readFileSync(registry))) throw new Error('a held ensure wrote the registry')
    const final = JSON.parse(fs.readFileSync(registry, 'utf8'))
    return {
      ...figures,
      worktrees: created,
      services: SERVICES.length,
      rangeSize: size,
      allocations: final.allocations.length,
      ensureMedianMs: median(cliMs),
      heldEnsureMedianMs: median(held),
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

/** The invariants: live worktrees hold exactly what their processes got, no port twice. */
function check(reg, live, services) {
  const seen = new Map()
  for (const a of reg.allocations) {
    if (seen.has(a.port)) throw new Error(`port ${a.port} is held twice: ${seen.get(a.port)} and ${a.worktree}`)
    seen.set(a.port, a.worktree)
  }
  const byPath = new Map()
  for (const a of reg.allocations) {
    const list = byPath.get(a.worktree_path) ?? []
    list.push(a)
    byPath.set(a.worktree_path, list)
  }
  for (const wt of live) {
    const mine = byPath.get(wt.path) ?? []
    if (mine.length !== services.length) throw new Error(`${wt.path} holds ${mine.length} allocations, not ${services.length}`)
    for (const a of mine) {
      if (wt.got[a.service] !== a.port) throw new Error(`${wt.path} got ${wt.got[a.service]} for ${a.service}, the registry says ${a.port}`)
    }
    if (new Set(mine.map((a) => a.worktree)).size !== 1) throw new Error(`${wt.path} goes by several names`)
  }
  const names = new Set(live.map((wt) => byPath.get(wt.path)[0].worktree))
  if (names.size !== live.length) throw new Error(`${live.length} live worktrees share ${names.size} names`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const worktrees = Number(process.argv[2] ?? 200)
  const wave = Number(process.argv[3] ?? 50)
  const bin = process.env.ATLAS_PORTS_BIN ?? path.join(root, 'target', 'release', 'atlas-ports')
  console.log(`fleet: ${worktrees} worktrees x ${SERVICES.length} services, waves of ${wave}, CLI ${bin}`)
  const f = await fleet({ worktrees, wave, bin, log: console.log })
  console.log(JSON.stringify(f, null, 2))
}
