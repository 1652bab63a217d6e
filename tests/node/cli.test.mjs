// `npx atlas-ports …` (the npm package's bin, run by the addon) is the very same program as
// the native binary: same output, same exit statuses.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { freeBlock, gitRepo, nativeBin, npmBin, registryWith, tempDir } from './support.mjs'

test('the npm bin and the native program answer alike', async () => {
  const base = await freeBlock(3)
  const template = fs.readFileSync(registryWith({ web: [base, base + 2] }))
  const scenario = (registry) => [
    ['--version'],
    ['allocate', '--service', 'web', '--worktree', 'w', '--registry', registry],
    ['--find-next', 'web', '--registry', registry],
    ['list', '--worktree', 'w', '--format', 'json', '--registry', registry],
    ['env', '--worktree', 'w', '--format', 'sh', '--registry', registry],
    ['release', String(base + 2), '--registry', registry],
    ['allocate', '--service', 'nope', '--worktree', 'w', '--registry', registry],
    ['check', '0', '--registry', registry],
    ['--service', 'web', '--worktree', 'v', '--quiet', '--registry', registry],
  ]
  const outcomes = (cmd, pre) => {
    const registry = `${registryWith({})}`
    fs.writeFileSync(registry, template)
    return scenario(registry).map((args) => {
      const r = spawnSync(cmd, [...pre, ...args], { encoding: 'utf8' })
      const scrub = (s) => s.replaceAll(registry, 'REGISTRY').replace(/"allocated_(at|by)": "[^"]*"/g, '"allocated_$1": "…"')
      return { args: scrub(args.join(' ')), status: r.status, stdout: scrub(r.stdout), stderr: scrub(r.stderr) }
    })
  }
  const native = outcomes(nativeBin, [])
  const viaNpm = outcomes(process.execPath, [npmBin])
  assert.deepEqual(viaNpm, native)
  assert.deepEqual(native.map((o) => o.status), [0, 0, 0, 0, 0, 1, 2, 2, 0])
})

test('status --watch through the npm bin: drawn in a terminal (tmux), Ctrl+C ends it with 0', async () => {
  const b = await freeBlock(2)
  const registry = registryWith({ web: [b, b + 1] })
  const dir = fs.mkdtempSync(`${registry}.watch-`)
  const exitFile = `${dir}/exit`
  const session = `atlas-node-watch-${process.pid}`
  const tmux = (...args) => spawnSync('tmux', args, { encoding: 'utf8', env: { ...process.env, TERM: 'xterm-256color' } })
  const script = `node '${npmBin}' status --watch --interval 0.3 --registry '${registry}'; echo EXIT=$? > '${exitFile}'; sleep 30`
  assert.equal(tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', script).status, 0)
  try {
    const until = async (ok, what) => {
      for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 100))
      assert.ok(ok(), what)
    }
    await until(() => tmux('capture-pane', '-p', '-t', session).stdout.includes(`web (${b}-${b + 1})`), 'the report is drawn')
    tmux('send-keys', '-t', session, 'C-c')
    await until(() => fs.existsSync(exitFile), 'the watch ended')
    assert.equal(fs.readFileSync(exitFile, 'utf8').trim(), 'EXIT=0')
  } finally {
    tmux('kill-session', '-t', session)
  }
})

test('what a JavaScript developer trips on: .atlas/ stays out of git status, --json, an empty registry, ensure twice', () => {
  const main = gitRepo()
  const run = (...args) => spawnSync(nativeBin, args, { cwd: main, encoding: 'utf8' })
  const first = run('ensure', '--service', 'web', '--quiet')
  assert.equal(first.status, 0, first.stderr)
  assert.equal(fs.readFileSync(path.join(main, '.atlas', '.gitignore'), 'utf8'), '*\n')
  assert.equal(spawnSync('git', ['status', '--porcelain'], { cwd: main, encoding: 'utf8' }).stdout, '', 'the registry folder is not untracked noise')
  const again = run('ensure', '--service', 'web')
  assert.equal(again.stdout, `Port ${first.stdout.trim()} is already allocated to service 'web' in worktree 'repo' (kept; nothing changed)\n`)
  const json = run('list', '--json')
  assert.equal(json.status, 2)
  assert.match(json.stderr, /^atlas-ports: error: unexpected argument '--json' found\n/, 'usage errors carry the prefix every diagnostic has')
  assert.match(json.stderr, /tip: for JSON, pass '--format json'\n$/)
  assert.match(run('hooks', '--help').stdout, /\n  run /, 'hooks --help lists run')
  const empty = path.join(tempDir(), 'ports.json')
  fs.writeFileSync(empty, '{"ranges": {}, "allocations": []}\n')
  const none = run('allocate', '--service', 'web', '--worktree', 'w', '--registry', empty)
  assert.equal(none.stderr, 'atlas-ports: error: unknown service \'web\'; the registry has no service ranges (add one to its "ranges")\n')
})

test('status --watch --format json through a pipe: one line of JSON per change, no blank lines between', async () => {
  const base = await freeBlock(3)
  const registry = registryWith({ web: [base, base + 2] })
  const { spawn } = await import('node:child_process')
  const watch = spawn(nativeBin, ['status', '--watch', '--format', 'json', '--interval', '0.1', '--all', '--registry', registry], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  watch.stdout.on('data', (d) => (out += d))
  const until = async (lines) => {
    const deadline = Date.now() + 10000
    while (out.split('\n').length <= lines) {
      assert.ok(Date.now() < deadline, `watch printed: ${JSON.stringify(out)}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  try {
    await until(1)
    spawnSync(nativeBin, ['allocate', '--service', 'web', '--worktree', 'w', '--registry', registry])
    await until(2)
  } finally {
    watch.kill()
  }
  const lines = out.split('\n').filter((l, i, all) => i < all.length - 1)
  assert.ok(lines.length >= 2)
  for (const line of lines) assert.ok(line.startsWith('{') && JSON.parse(line), `a line of JSON: ${JSON.stringify(line)}`)
  assert.equal(JSON.parse(lines.at(-1)).total_allocated, 1)
})

test('the worktree table keeps its columns for a service name over 9 characters (web-staging)', async () => {
  const base = await freeBlock(2)
  const registry = registryWith({ web: [base, base], 'web-staging': [base + 1, base + 1] })
  for (const service of ['web', 'web-staging']) spawnSync(nativeBin, ['allocate', '--service', service, '--worktree', 'w', '--registry', registry])
  for (const args of [['status', '--worktree', 'w'], ['--worktree', 'w']]) {
    const rows = spawnSync(nativeBin, [...args, '--registry', registry], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes('|'))
    assert.equal(rows.length, 4, rows.join('\n'))
    const bars = rows.map((r) => [...r].flatMap((c, i) => (c === '|' ? [i] : [])).join(','))
    assert.equal(new Set(bars).size, 1, `columns line up:\n${rows.join('\n')}`)
  }
})

test('--all and status --all count a port another process holds as taken, as allocate does', async () => {
  const net = await import('node:net')
  const base = await freeBlock(2)
  const registry = registryWith({ one: [base, base + 1] })
  const holder = net.createServer()
  await new Promise((r) => holder.listen(base + 1, '0.0.0.0', r))
  try {
    assert.match(spawnSync(nativeBin, ['--all', '--registry', registry], { encoding: 'utf8' }).stdout, new RegExp(`Available: ${base} \\(1 port\\)`))
    assert.equal(spawnSync(nativeBin, ['allocate', '-s', 'one', '-w', 'a', '-q', '--registry', registry], { encoding: 'utf8' }).stdout, `${base}\n`)
    const all = JSON.parse(spawnSync(nativeBin, ['status', '--all', '--format', 'json', '--registry', registry], { encoding: 'utf8' }).stdout)
    assert.equal(all.total_available, 0)
    assert.equal(spawnSync(nativeBin, ['allocate', '-s', 'one', '-w', 'b', '--registry', registry], { encoding: 'utf8' }).status, 2, 'the range is exhausted, as status said')
  } finally {
    holder.close()
  }
})

test('with both .atlas/ and design/worktrees/ registries, the one not read is named on stderr', () => {
  const main = gitRepo()
  const run = (...args) => spawnSync(nativeBin, args, { cwd: main, encoding: 'utf8' })
  assert.equal(run('ensure', '--service', 'web', '--quiet').stderr.includes('is not read'), false)
  fs.mkdirSync(path.join(main, 'design', 'worktrees'), { recursive: true })
  fs.copyFileSync(path.join(main, '.atlas', 'worktrees', 'ports.json'), path.join(main, 'design', 'worktrees', 'ports.json'))
  const r = run('list')
  assert.equal(r.status, 0)
  assert.match(r.stderr, /^atlas-ports: note: design\/worktrees\/ports\.json is not read: \.atlas\/worktrees\/ports\.json is the registry/)
  assert.equal(spawnSync(nativeBin, ['list', '--registry', path.join(main, 'design', 'worktrees', 'ports.json')], { cwd: main, encoding: 'utf8' }).stderr, '', 'not when a registry is named')
})
