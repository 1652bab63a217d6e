// start() and stop() from Node, and down() stopping servers first, with real processes: a
// declared command's HTTP server is started, found by getStatus, stopped (its port free again),
// and a listener from outside the worktree on the worktree's port is reported, never signalled.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { atlas, freeBlock, gitRepo, registryWith, tempDir } from './support.mjs'

/** A repository whose atlas-ports.toml declares `web` with a real HTTP server as its command. */
async function project() {
  const main = gitRepo()
  const b = await freeBlock(2)
  fs.writeFileSync(path.join(main, 'atlas-ports.toml'), '[services.web]\ncommand = "exec python3 -m http.server {port} --bind 127.0.0.1"\nready = "/"\n')
  fs.mkdirSync(path.join(main, '.atlas', 'worktrees'), { recursive: true })
  fs.copyFileSync(registryWith({ web: [b, b + 1] }), path.join(main, '.atlas', 'worktrees', 'ports.json'))
  return { main, b }
}

/** Whether a process with this PID exists. */
function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return e.code === 'EPERM'
  }
}

/**
 * Whether the process is gone within two seconds: no zombie left either (the process that
 * started it, this one, must have reaped it).
 */
async function gone(pid) {
  for (const until = Date.now() + 2000; Date.now() < until;) {
    if (!alive(pid)) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return false
}

/** Whether a server could listen on 127.0.0.1:port now. */
function free(port) {
  return new Promise((resolve) => {
    const s = net.createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

function get(port) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/' }, (res) => { res.resume(); resolve(res.statusCode) }).on('error', reject)
  })
}

/** Ends whatever a failed test left running. */
function cleanup(t, main, pids) {
  t.after(() => {
    try { atlas.stopSync({ cwd: main, grace: 0 }) } catch {}
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL')
  })
}

test('start runs the declared command once, getStatus says atlas-ports started it, stop frees the port', async (t) => {
  const { main, b } = await project()
  const pids = []
  cleanup(t, main, pids)
  const report = await atlas.start({ cwd: main, timeout: 20000 })
  assert.equal(report.worktree, 'repo')
  assert.deepEqual(report.up.services.map((s) => [s.service, s.port, s.variable]), [['web', b, 'PORT_WEB']])
  const [web] = report.services
  pids.push(web.pid)
  assert.equal(web.state, 'started', web.reason)
  assert.equal(web.url, `http://localhost:${b}`)
  assert.equal(web.startedByAtlasPorts, true)
  assert.match(web.reason, /HTTP 200/)
  assert.ok(Number.isInteger(web.pid) && alive(web.pid))
  assert.ok(fs.existsSync(path.resolve(main, web.log)) || fs.existsSync(web.log), `the log ${web.log} exists`)
  assert.equal(await get(b), 200)

  // A second start finds it running: no second copy.
  const again = atlas.startSync({ cwd: main })
  assert.equal(again.services[0].state, 'already_running')
  assert.equal(again.services[0].pid, web.pid)

  // getStatus and healthCheck give the PID and that atlas-ports started it.
  const status = await atlas.getStatus(undefined, { cwd: main })
  const state = status.ranges.find((r) => r.service === 'web').allocations[0]
  assert.equal(state.pid, web.pid)
  assert.equal(state.startedByAtlasPorts, true)
  assert.equal(atlas.healthCheckSync('repo', { cwd: main }).worktrees[0].allocations[0].startedByAtlasPorts, true)

  const stopped = await atlas.stop({ cwd: main, service: 'web' })
  assert.equal(stopped.worktree, 'repo')
  assert.equal(stopped.dryRun, false)
  assert.deepEqual(stopped.leftAlone, [])
  const it = stopped.stopped.find((p) => p.pid === web.pid)
  assert.ok(it, `pid ${web.pid} is among the stopped: ${JSON.stringify(stopped.stopped)}`)
  assert.equal(it.proof, 'started')
  assert.equal(it.signal, 'SIGTERM')
  assert.equal(it.ended, true)
  assert.equal(await gone(web.pid), true, 'the server is gone, and reaped')
  assert.equal(await free(b), true, 'its port is free again')
  assert.deepEqual(atlas.listAllocatedPortsSync('repo', { cwd: main }).map((a) => a.port), [b], 'stop keeps the port')
  // Nothing listens now: no PID, so no claim either way.
  const after = atlas.getStatusSync('repo', { cwd: main }).ranges.find((r) => r.service === 'web').allocations[0]
  assert.equal(after.pid, undefined)
  assert.equal(after.startedByAtlasPorts, undefined)
})

test('down stops the worktree\'s server before releasing its ports', async (t) => {
  const { main, b } = await project()
  const pids = []
  cleanup(t, main, pids)
  const started = atlas.startSync({ cwd: main, timeout: 20000 }).services[0]
  pids.push(started.pid)
  assert.equal(started.state, 'started', started.reason)
  const down = await atlas.down({ cwd: main, grace: 3000 })
  assert.deepEqual(down.released.map((a) => a.port), [b])
  assert.equal(down.removed, '.env.ports')
  assert.ok(down.servers.stopped.some((p) => p.pid === started.pid && p.ended), JSON.stringify(down.servers))
  assert.equal(await gone(started.pid), true, 'down ended the server')
  assert.equal(await free(b), true)
})

test('a listener from outside the worktree on its port is reported by stop and down, and left running', async (t) => {
  const { main } = await project()
  const port = await atlas.ensurePort('web', { cwd: main })
  const outside = tempDir('atlas-outside-')
  const foreign = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], { cwd: outside, stdio: 'ignore' })
  t.after(() => foreign.kill('SIGKILL'))
  await atlas.waitForPort('web', { cwd: main, timeout: 10000 })

  const stopped = atlas.stopSync({ cwd: main, grace: 500 })
  assert.deepEqual(stopped.stopped, [], 'nothing is provably the worktree\'s')
  const [alone] = stopped.leftAlone
  assert.equal(alone.pid, foreign.pid)
  assert.equal(alone.port, port)
  assert.equal(alone.service, 'web')
  assert.equal(alone.cwd, outside)
  assert.match(alone.reason, /outside|not inside|folder/)
  assert.equal(alive(foreign.pid), true, 'stop did not signal it')

  const down = await atlas.down({ cwd: main, grace: 500 })
  assert.deepEqual(down.servers.stopped, [])
  assert.equal(down.servers.leftAlone[0].pid, foreign.pid)
  assert.equal(alive(foreign.pid), true, 'down did not signal it')
  assert.equal(await get(port), 200, 'and it still answers')
})

test('start and stop refuse bad input with coded errors', async () => {
  const { main } = await project()
  await assert.rejects(atlas.start({ cwd: main, service: 'api' }), (e) => e instanceof Error && e.code === 'ERR_INVALID_ARGUMENT' && /no such service/.test(e.message))
  await assert.rejects(atlas.stop({ cwd: main, grace: -1 }), (e) => e.code === 'ERR_INVALID_ARGUMENT' && /grace/.test(e.message))
  assert.throws(() => atlas.startSync({ cwd: main, timeout: '1s' }), (e) => e.code === 'ERR_INVALID_ARGUMENT' && /timeout/.test(e.message))
  assert.throws(() => atlas.stopSync({ cwd: main, worktree: 'other' }), (e) => e.code === 'ERR_INVALID_ARGUMENT' && /unknown member 'worktree'/.test(e.message))
  fs.rmSync(path.join(main, 'atlas-ports.toml'))
  await assert.rejects(atlas.start({ cwd: main }), (e) => e.code === 'ERR_NO_PROJECT_FILE')
  const outside = tempDir('atlas-nowhere-')
  assert.throws(() => atlas.stopSync({ cwd: outside }), (e) => e.code === 'ERR_NOT_IN_WORKTREE')
})
