// up() and down() from the package, and the Vite plugin choosing the declared service.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { freeBlock, gitRepo, installedAtlas, installedPackage, registryWith } from './support.mjs'

const atlas = installedAtlas()

test('up writes the env file for the declared services, down takes it all back', async () => {
  const main = gitRepo()
  const b = await freeBlock(4)
  fs.writeFileSync(path.join(main, 'atlas-ports.toml'), '[services.db]\ndescription = "Postgres"\n[services.ui]\nvite = true\n[env]\nAPI = "http://localhost:{port:ui}/api"\n')
  fs.mkdirSync(path.join(main, '.atlas', 'worktrees'), { recursive: true })
  fs.copyFileSync(registryWith({ db: [b, b + 1], ui: [b + 2, b + 3] }), path.join(main, '.atlas', 'worktrees', 'ports.json'))
  const o = { cwd: main }
  assert.deepEqual(atlas.projectFileSync(o), {
    envFile: '.env.ports',
    services: [{ name: 'db', description: 'Postgres', vite: false }, { name: 'ui', description: '', vite: true }],
    viteService: 'ui',
  })
  const report = await atlas.up(o)
  assert.equal(report.written, true)
  assert.deepEqual(report.services.map((s) => [s.service, s.port, s.variable]), [['db', b, 'PORT_DB'], ['ui', b + 2, 'PORT_UI']])
  const text = fs.readFileSync(path.join(main, '.env.ports'), 'utf8')
  assert.match(text, new RegExp(`^# Written by \`atlas-ports up\`.*\\nPORT_DB=${b}\\nPORT_UI=${b + 2}\\nAPI=http://localhost:${b + 2}/api\\n$`))
  assert.equal(atlas.upSync(o).written, false, 'a second run writes nothing')

  // The Vite plugin takes the service marked vite = true.
  const atlasPorts = createRequire(path.join(installedPackage().dir, 'package.json'))('atlas-ports/vite')
  const config = await atlasPorts().config({ root: main })
  assert.equal(config.server.port, b + 2)

  const down = await atlas.down(o)
  assert.deepEqual(down.released.map((a) => a.port).sort(), [b, b + 2])
  assert.equal(down.removed, '.env.ports', 'shown relative to the folder worked in, as the CLI shows it')
  assert.equal(fs.existsSync(path.join(main, '.env.ports')), false)
  // No project file: a coded error, and projectFile answers null.
  fs.rmSync(path.join(main, 'atlas-ports.toml'))
  await assert.rejects(atlas.up(o), (e) => e.code === 'ERR_NO_PROJECT_FILE' && /no project file at/.test(e.message))
  assert.equal(await atlas.projectFile(o), null)
  execFileSync('git', ['status'], { cwd: main, stdio: 'ignore' })
})

test('a port that becomes a canonical port moves on the next up, with a warning; no worktree is allocated it after', async () => {
  const main = gitRepo()
  const b = await freeBlock(5)
  const toml = (extra) => fs.writeFileSync(path.join(main, 'atlas-ports.toml'), `[services.web]\n${extra}[services.api]\n`)
  toml('')
  fs.mkdirSync(path.join(main, '.atlas', 'worktrees'), { recursive: true })
  const registry = path.join(main, '.atlas', 'worktrees', 'ports.json')
  fs.copyFileSync(registryWith({ web: [b, b], api: [b + 1, b + 4] }), registry)
  const o = { cwd: main }
  assert.deepEqual((await atlas.up(o)).services.map((s) => [s.service, s.port, s.warning]), [['web', b, undefined], ['api', b + 1, undefined]])
  toml(`canonical = ${b + 1}\n`)
  const api = (await atlas.up(o)).services.find((s) => s.service === 'api')
  assert.equal(api.port, b + 2)
  assert.equal(api.warning, `port ${b + 1} of worktree 'repo' (api) is now the canonical port of 'web', which no worktree is allocated; moved to ${b + 2} (restart a server still on ${b + 1})`)
  assert.deepEqual(JSON.parse(fs.readFileSync(registry, 'utf8')).canonical_ports, { [b + 1]: 'web' })
  assert.equal(atlas.ensurePortSync('api', 'another', null, o), b + 3, 'skipped although nobody holds it')
  assert.equal(atlas.checkPortAvailableSync(b + 1, o), false)
})
