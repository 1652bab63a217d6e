// A repository's own services through the installed package: ranges readable with
// getRanges/getRangesSync, services atlas-ports.toml declares usable through ensurePort (their
// range added on first use), and the worktree files refused when they lead out or would hang.
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { atlas, freeBlock, gitRepo, npmDir, registryWith, tempDir } from './support.mjs'

/** A monorepo whose atlas-ports.toml declares the admin UI's range; the registry knows web. */
async function monorepo() {
  const main = gitRepo()
  const base = await freeBlock(8)
  for (const pkg of ['packages/app', 'packages/admin']) fs.mkdirSync(path.join(main, pkg), { recursive: true })
  fs.writeFileSync(
    path.join(main, 'atlas-ports.toml'),
    `[services.web]\n[services.admin]\nrange = "${base + 4}-${base + 7}"\ndescription = "Admin UI"\nprobe = "http"\n`,
  )
  const registry = registryWith({ web: [base, base + 3] })
  return { main, base, registry }
}

test('ensurePort takes a declared service from its declared range, and getRanges lists it', async () => {
  const { main, base, registry } = await monorepo()
  const app = await atlas.ensurePort('web', { registry, cwd: path.join(main, 'packages/app') })
  const admin = await atlas.ensurePort('admin', { registry, cwd: path.join(main, 'packages/admin') })
  assert.equal(app, base)
  assert.equal(admin, base + 4)
  assert.equal(atlas.ensurePortSync('admin', { registry, cwd: path.join(main, 'packages/admin') }), admin)
  const ranges = await atlas.getRanges({ registry })
  assert.deepEqual(ranges, [
    { service: 'web', start: base, end: base + 3, description: 'web', allocated: 1 },
    { service: 'admin', start: base + 4, end: base + 7, description: 'Admin UI', probe: 'http', allocated: 1 },
  ])
  assert.deepEqual(atlas.getRangesSync({ registry }), ranges)
  assert.deepEqual((await atlas.projectFile({ cwd: main })).services, [
    { name: 'web', description: '', vite: false },
    { name: 'admin', description: 'Admin UI', vite: false, range: { start: base + 4, end: base + 7 }, probe: 'http' },
  ])
  // The ES module entry has them too.
  const { getRanges, getRangesSync } = await import(pathToFileURL(path.join(npmDir, 'atlas-ports.mjs')).href)
  assert.deepEqual(await getRanges({ registry }), ranges)
  assert.equal(typeof getRangesSync, 'function')
})

test('a declaration the registry contradicts is ERR_INVALID_PROJECT_FILE naming both, and nothing is written', async () => {
  const { main, base } = await monorepo()
  const registry = registryWith({ web: [base, base + 5] })
  const before = fs.readFileSync(registry)
  await assert.rejects(atlas.ensurePort('admin', { registry, cwd: main }), (e) => {
    assert.equal(e.code, 'ERR_INVALID_PROJECT_FILE')
    assert.match(e.message, new RegExp(`the range ${base + 4}-${base + 7} of 'admin' overlaps the range of 'web' \\(${base}-${base + 5}\\)`))
    return true
  })
  assert.throws(() => atlas.ensurePortSync('web', { registry, cwd: main }), { code: 'ERR_INVALID_PROJECT_FILE' })
  assert.deepEqual(fs.readFileSync(registry), before)
  assert.throws(() => atlas.getRangesSync({ registry, cwd: main, nope: 1 }), { code: 'ERR_INVALID_ARGUMENT' })
})

test('a project file or env file that leads out of the worktree, or is a FIFO, is ERR_UNUSABLE_FILE at once', async () => {
  const { main, registry } = await monorepo()
  const shared = tempDir()
  fs.writeFileSync(path.join(main, 'atlas-ports.toml'), 'env_file = "conf/profile.sh"\n[services.web]\n')
  fs.symlinkSync(shared, path.join(main, 'conf'))
  const before = fs.readFileSync(registry)
  await assert.rejects(atlas.up({ registry, cwd: main }), (e) => {
    assert.equal(e.code, 'ERR_UNUSABLE_FILE')
    assert.match(e.message, /conf\/profile\.sh as the env file: it leads out of the worktree through the symbolic link/)
    return true
  })
  assert.throws(() => atlas.downSync({ registry, cwd: main }), { code: 'ERR_UNUSABLE_FILE' })
  assert.deepEqual(fs.readdirSync(shared), [])
  assert.deepEqual(fs.readFileSync(registry), before)

  fs.rmSync(path.join(main, 'atlas-ports.toml'))
  execFileSync('mkfifo', [path.join(main, 'atlas-ports.toml')])
  const started = Date.now()
  assert.throws(() => atlas.projectFileSync({ cwd: main }), { code: 'ERR_UNUSABLE_FILE', message: /FIFO/ })
  assert.throws(() => atlas.ensurePortSync('web', { registry, cwd: main }), { code: 'ERR_UNUSABLE_FILE' })
  assert.ok(Date.now() - started < 5000, 'a FIFO never blocks')
})
