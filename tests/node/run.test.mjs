// `atlas-ports run` through the installed package's bin, as npm scripts use it: the command gets
// stdin, stdout and stderr, its signals and its exit status; and runCli called from a script
// runs the command as a child instead of replacing the calling process.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { freeBlock, installedPackage, registryWith } from './support.mjs'

test('npx atlas-ports run passes stdin, stdout, stderr and the exit status', async () => {
  const { dir } = installedPackage()
  const b = await freeBlock(2)
  const registry = registryWith({ web: [b, b + 1] })
  const r = spawnSync('npx', ['--no-install', 'atlas-ports', 'run', '--service', 'web', '--worktree', 'w', '--registry', registry, '--',
    'sh', '-c', 'read x; echo "got $x on $PORT"; echo err >&2; exit 7'], { cwd: dir, input: 'hello\n', encoding: 'utf8' })
  assert.equal(r.stdout, `got hello on ${b}\n`)
  assert.match(r.stderr, new RegExp(`^atlas-ports: worktree 'w': PORT=${b} PORT_WEB=${b} \\(web\\)\\nerr\\n$`))
  assert.equal(r.status, 7)
  const echo = spawnSync('npx', ['--no-install', 'atlas-ports', 'run', '-q', '--service', 'web', '--worktree', 'w', '--registry', registry, '--',
    'sh', '-c', 'echo hi'], { cwd: dir, encoding: 'utf8' })
  assert.deepEqual([echo.status, echo.stdout, echo.stderr], [0, 'hi\n', ''])
})

test('an npm script runs a real server on the worktree port through the bin', async () => {
  const { dir } = installedPackage()
  const b = await freeBlock(2)
  const registry = registryWith({ web: [b, b + 1] })
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  pkg.scripts = { dev: `atlas-ports run -q --service web --worktree w --registry ${registry} -- python3 -m http.server {port} --bind 127.0.0.1` }
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg))
  const server = spawn('npm', ['run', '--silent', 'dev'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let output = ''
  server.stdout.on('data', (d) => (output += d))
  server.stderr.on('data', (d) => (output += d))
  try {
    const deadline = Date.now() + 15000
    let answer
    while (!answer) {
      answer = await fetch(`http://127.0.0.1:${b}/`).then((res) => res.status, () => undefined)
      if (!answer) {
        assert.ok(Date.now() < deadline, `the server never answered on ${b}: ${output}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    assert.equal(answer, 200)
    // The server's own log reaches the terminal: its stderr was handed over.
    for (let i = 0; i < 50 && !/GET \/ HTTP/.test(output); i++) await new Promise((r) => setTimeout(r, 100))
    assert.match(output, /"GET \/ HTTP\/1\.1" 200/)
  } finally {
    process.kill(-server.pid, 'SIGINT')
  }
})

test('signals reach the command, which replaced the bin process', async () => {
  const { dir } = installedPackage()
  const b = await freeBlock(2)
  const registry = registryWith({ web: [b, b + 1] })
  const bin = path.join(dir, 'node_modules', '.bin', 'atlas-ports')
  const child = spawn(bin, ['run', '-q', '--service', 'web', '--worktree', 'w', '--registry', registry, '--',
    'sh', '-c', 'trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.05; done'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  await new Promise((resolve) => child.stdout.on('data', (d) => { out += d; if (out.includes('ready')) resolve() }))
  const comm = fs.readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim()
  assert.equal(comm, 'sh', 'the bin process became the command (exec)')
  child.kill('SIGTERM')
  const status = await new Promise((resolve) => child.on('close', (code) => resolve(code)))
  assert.equal(out, 'ready\ngot TERM\n')
  assert.equal(status, 3)
})

test('runCli from a script runs the command as a child and returns its status', async () => {
  const { dir } = installedPackage()
  const b = await freeBlock(2)
  const registry = registryWith({ web: [b, b + 1] })
  const out = execFileSync(process.execPath, ['-e', `
    const { runCli } = require('atlas-ports')
    const code = runCli(['run', '-q', '--service', 'web', '--worktree', 'w', '--registry', ${JSON.stringify(registry)}, '--', 'sh', '-c', 'echo "child on $PORT"; exit 5'])
    console.log('after', code)
  `], { cwd: dir, encoding: 'utf8' })
  assert.equal(out, `child on ${b}\nafter 5\n`)
})
