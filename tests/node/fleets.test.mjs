// Fleets of worktrees through the installed npm package: worktrees whose folders share the
// repository's name get their own ports and names, a full range takes back removed worktrees'
// ports, and the calls a tool driving many worktrees needs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { atlas, freeBlock, gitRepo, installedAtlas, nativeBin, registryWith } from './support.mjs'

/** Adds a linked worktree at `<tmp>/<relative>` on a new branch. */
function worktreeAt(main, relative, branch) {
  const wt = path.join(path.dirname(main), relative)
  fs.mkdirSync(path.dirname(wt), { recursive: true })
  execFileSync('git', ['worktree', 'add', '-q', '-b', branch, wt], { cwd: main, stdio: 'pipe' })
  return wt
}

/** A repository whose discovered registry has the given ranges. */
function repoWith(ranges) {
  const main = gitRepo()
  const dir = path.join(main, '.atlas', 'worktrees')
  fs.mkdirSync(dir, { recursive: true })
  registryWith(ranges, dir)
  return main
}

const cli = (cwd, ...args) => execFileSync(nativeBin, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

test('worktrees named like the repository get distinct ports from Node and the CLI alike', async () => {
  const pkg = installedAtlas()
  const start = await freeBlock(8)
  const main = repoWith({ web: [start, start + 7] })
  const codex = ['1f3c', '9a7e', '04bd'].map((id, i) => worktreeAt(main, `codex/worktrees/${id}/repo`, `c${i}`))
  const ports = new Map()
  ports.set(main, pkg.ensurePortSync('web', { cwd: main }))
  for (const [i, wt] of codex.entries()) {
    // Node and the native CLI take turns: one registry, one naming.
    const port = i % 2 ? Number(cli(wt, 'ensure', '--service', 'web', '-q').trim()) : await pkg.ensurePort('web', { cwd: wt })
    ports.set(wt, port)
  }
  assert.equal(new Set(ports.values()).size, 4, `distinct ports: ${[...ports.values()]}`)
  for (const [wt, port] of ports) {
    assert.equal(pkg.ensurePortSync('web', { cwd: wt }), port, 'the same port again')
    assert.equal(Number(cli(wt, 'ensure', '--service', 'web', '-q').trim()), port, 'the CLI agrees')
  }
  assert.equal(pkg.currentWorktreeSync({ cwd: main }), 'repo')
  assert.deepEqual(codex.map((wt) => pkg.currentWorktreeSync({ cwd: wt })), ['1f3c-repo', '9a7e-repo', '04bd-repo'])
  const all = await pkg.listAllAllocations({ cwd: main })
  assert.deepEqual(all.map((a) => a.worktree).sort(), ['04bd-repo', '1f3c-repo', '9a7e-repo', 'repo'])
  const mine = pkg.worktreePortsSync(null, { cwd: codex[1] })
  assert.deepEqual(mine, { worktree: '9a7e-repo', ports: { web: ports.get(codex[1]) }, env: { PORT_WEB: String(ports.get(codex[1])) } })
})

test('ensurePort takes back the ports of a removed worktree when the range is full, and says so', async () => {
  const start = await freeBlock(2)
  const main = repoWith({ web: [start, start + 1] })
  const [a, b, c] = ['a', 'b', 'c'].map((t) => worktreeAt(main, `${t}/repo`, t))
  const aPort = atlas.ensurePortSync('web', { cwd: a })
  atlas.ensurePortSync('web', { cwd: b })
  const full = await atlas.ensurePort('web', { cwd: c }).catch((e) => e)
  assert.equal(full.code, 'ERR_RANGE_EXHAUSTED')
  assert.match(full.message, /held by 'repo' \(\d+\), 'b-repo' \(\d+\)\. `atlas-ports prune` releases the ports of removed worktrees/)

  execFileSync('git', ['worktree', 'remove', a], { cwd: main })
  assert.deepEqual(atlas.pruneSync({ cwd: main, dryRun: true }).map((x) => [x.worktree, x.port]), [['repo', aPort]])
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  try {
    const details = await atlas.ensurePortDetails('web', { cwd: c })
    assert.equal(details.port, aPort)
    assert.equal(details.worktree, 'c-repo')
    assert.deepEqual(details.reclaimed.map((x) => [x.worktree, x.port]), [['repo', aPort]])
    assert.equal(atlas.pruneSync({ cwd: main }).length, 0, 'nothing left to prune')
    // ensurePort reports a reclaim as a process warning.
    execFileSync('git', ['worktree', 'remove', b], { cwd: main })
    const d = worktreeAt(main, 'd/repo', 'd')
    await atlas.ensurePort('web', { cwd: d })
    await new Promise((resolve) => setImmediate(resolve))
  } finally {
    process.off('warning', onWarning)
  }
  const reclaimed = warnings.filter((w) => w.code === 'ATLAS_PORTS_RECLAIMED')
  assert.equal(reclaimed.length, 1, warnings.map(String).join('\n'))
  assert.match(reclaimed[0].message, /the 'web' range was full: released \d+ \(web\) of 'b-repo' of worktrees that are gone/)
})

test('prune releases removed worktrees and leaves live ones; a bad option is refused', async () => {
  const start = await freeBlock(4)
  const main = repoWith({ web: [start, start + 3] })
  const [a, b] = ['a', 'b'].map((t) => worktreeAt(main, `${t}/repo`, t))
  atlas.ensurePortSync('web', { cwd: a })
  atlas.ensurePortSync('web', { cwd: b })
  fs.rmSync(a, { recursive: true, force: true }) // deleted behind git's back: git says prunable
  const released = await atlas.prune({ cwd: main })
  assert.deepEqual(released.map((x) => x.worktree), ['repo'])
  assert.deepEqual(atlas.listAllAllocationsSync({ cwd: main }).map((x) => x.worktree), ['b-repo'])
  assert.equal((await atlas.prune({ cwd: main, dryRun: 'yes' }).catch((e) => e)).code, 'ERR_INVALID_ARGUMENT')
})

test('an excluded port the worktree holds is given up for another', async () => {
  const start = await freeBlock(4)
  const main = repoWith({ web: [start, start + 3] })
  const held = atlas.ensurePortSync('web', { cwd: main })
  const moved = atlas.ensurePortSync('web', { cwd: main, exclude: [held] })
  assert.notEqual(moved, held)
  assert.deepEqual(atlas.listAllocatedPortsSync(null, { cwd: main }).map((a) => a.port), [moved], 'the excluded one is released')
  assert.equal(atlas.ensurePortSync('web', { cwd: main }), moved, 'and it stays there')
  // preferred applies to a new allocation only: a held port is kept.
  assert.equal(atlas.ensurePortSync('web', { cwd: main, preferred: start + 3 }), moved)
})

test('a fleet created and removed in waves by CLI and Node processes: no shared port, nothing lost, no manual prune', async () => {
  const { fleet } = await import('../bench/fleet.mjs')
  // Ranges with no port to spare, so below the ephemeral ports (32768-60999 on Linux), which any
  // test's outgoing connection may hold for a moment, and free when the run starts.
  const base = await freeBlock(4 * 12)
  const figures = await fleet({ worktrees: 24, wave: 6, parallel: 6, bin: nativeBin, base })
  assert.equal(figures.worktrees, 24)
  assert.deepEqual(figures.waves.map((w) => w.live), [6, 12, 12, 12])
  assert.ok(figures.waves.slice(2).every((w) => w.removed === 6), JSON.stringify(figures.waves))
  // 24 worktrees x 4 services went through ranges of 12 ports: the removed ones' came back.
  assert.equal(figures.rangeSize, 12)
})
