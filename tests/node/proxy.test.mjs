// The named URL beside the port in the Node API: while a proxy for the registry runs
// (`atlas-ports proxy start`, a real detached process on a free port), `worktreePorts` gives
// `urls` and `URL_` variables and `up` a `url` per service; once it stops, neither.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { addWorktree, atlas, freeBlock, gitRepo, nativeBin, registryWith } from './support.mjs'

const cli = (cwd, ...args) => {
  const env = { ...process.env }
  delete env.ATLAS_PORTS_REGISTRY
  delete env.ATLAS_PORTS_PROXY_PORT
  return spawnSync(nativeBin, args, { cwd, encoding: 'utf8', env })
}

test('worktreePorts and up hand out the named URL while the proxy runs', async (t) => {
  const main = gitRepo()
  const base = await freeBlock(4)
  fs.mkdirSync(path.join(main, '.atlas', 'worktrees'), { recursive: true })
  registryWith({ web: [base, base + 2] }, path.join(main, '.atlas', 'worktrees'))
  const wt = addWorktree(main, 'pr-42')
  fs.writeFileSync(path.join(wt, 'atlas-ports.toml'), '[services.web]\n')
  const web = atlas.ensurePortSync('web', null, null, { cwd: wt })

  const before = atlas.worktreePortsSync(null, { cwd: wt })
  assert.deepEqual(before.env, { PORT_WEB: String(web) })
  assert.equal(before.urls, undefined)
  assert.equal((await atlas.up({ cwd: wt })).services[0].url, undefined)

  const port = base + 3
  const started = cli(main, 'proxy', 'start', '--port', String(port), '--format', 'json')
  assert.equal(started.status, 0, started.stderr)
  t.after(() => cli(main, 'proxy', 'stop'))
  const url = `http://web.pr-42.localhost:${port}`
  const running = await atlas.worktreePorts(null, { cwd: wt })
  assert.deepEqual(running.urls, { web: url })
  assert.deepEqual(running.env, { PORT_WEB: String(web), URL_WEB: url })
  const up = atlas.upSync({ cwd: wt })
  assert.equal(up.services[0].url, url)
  assert.match(fs.readFileSync(path.join(wt, '.env.ports'), 'utf8'), new RegExp(`URL_WEB=${url}\n$`))

  assert.equal(cli(main, 'proxy', 'stop').status, 0)
  const after = atlas.worktreePortsSync(null, { cwd: wt })
  assert.equal(after.urls, undefined)
  assert.deepEqual(after.env, { PORT_WEB: String(web) })
})
