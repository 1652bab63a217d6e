// `atlas-ports checkout` as a person meets it: an OAuth-style redirect to a fixed
// `http://localhost:C/callback` followed by headless Chromium lands on the worktree that holds
// the canonical port C, and moves with `checkout`; the dashboard page shows who holds it.
// No server is started by hand: the first `checkout` starts the background proxy.
// The native program and Chromium only (no addon): C is a free port, never 3000.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { freeBlock, nativeBin, npmDir, tempDir } from './support.mjs'

const requireDev = createRequire(path.join(npmDir, 'package.json'))
const { chromium } = requireDev('playwright-core')
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium'

// support.mjs also gives the run an ATLAS_PORTS_HOME of its own (the proxy's local CA).
const tmp = tempDir('atlas-checkout-')

const git = (cwd, ...args) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, stdio: 'pipe' })
const cli = (cwd, ...args) => spawnSync(nativeBin, args, { cwd, encoding: 'utf8', env: { ...process.env, ATLAS_PORTS_REGISTRY: '' } })

/** An HTTP server on 127.0.0.1:port. */
async function serve (port, handler) {
  const server = http.createServer(handler)
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve))
  return server
}

/** A worktree's app: its OAuth callback page names the worktree and the code it was given. */
function app (name) {
  return (req, res) => {
    const url = new URL(req.url, 'http://localhost')
    res.setHeader('content-type', 'text/html; charset=utf-8')
    if (url.pathname !== '/callback') return res.end(`<p id="who">${name}</p>`)
    const code = url.searchParams.get('code') ?? ''
    res.end(`<!doctype html><title>callback</title><p id="who">${name}</p><p id="code">${code.replace(/[^a-z0-9]/gi, '')}</p>`)
  }
}

let browser
const closers = []
before(async () => {
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] })
})
after(async () => {
  await browser?.close()
  for (const close of closers.reverse()) await close()
})

test('an OAuth-style redirect to the canonical port lands on the worktree that checked it out', async () => {
  const start = await freeBlock(13)
  const canonical = start + 11
  const providerPort = start + 10
  const proxyPort = start + 12
  const main = path.join(tmp, 'repo')
  fs.mkdirSync(main)
  git(main, 'init', '-q')
  fs.writeFileSync(path.join(main, 'atlas-ports.toml'), `[services.web]\nrange = "${start}-${start + 9}"\ncanonical = ${canonical}\n[proxy]\nport = ${proxyPort}\n`)
  git(main, 'add', 'atlas-ports.toml')
  git(main, 'commit', '-q', '-m', 'ports')
  // The registry's own web range is the declared one.
  const registry = path.join(main, '.atlas', 'worktrees', 'ports.json')
  fs.mkdirSync(path.dirname(registry), { recursive: true })
  const metadata = { version: '1.0.0', last_updated: '', total_allocations: 0, schema_version: 1 }
  fs.writeFileSync(registry, JSON.stringify({ ranges: { web: { start, end: start + 9, description: 'web' } }, allocations: [], metadata }))
  const worktrees = {}
  for (const name of ['a', 'b']) {
    worktrees[name] = path.join(tmp, name)
    git(main, 'worktree', 'add', '-q', '-b', name, worktrees[name])
    const up = cli(worktrees[name], 'up', '--format', 'json')
    assert.equal(up.status, 0, up.stderr)
  }
  const allocations = JSON.parse(fs.readFileSync(registry, 'utf8')).allocations
  const portOf = (w) => allocations.find((a) => a.worktree === w && a.service === 'web').port
  for (const name of ['a', 'b']) {
    const server = await serve(portOf(name), app(name))
    closers.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  }
  // The provider knows one callback, on the canonical port.
  const provider = await serve(providerPort, (req, res) => {
    const state = new URL(req.url, 'http://x').searchParams.get('state') ?? ''
    res.writeHead(302, { location: `http://localhost:${canonical}/callback?code=xyz${state}` }).end()
  })
  closers.push(() => new Promise((resolve) => { provider.closeAllConnections(); provider.close(resolve) }))

  closers.push(() => cli(main, 'proxy', 'stop', '--grace', '1s'))
  const dashboardPort = proxyPort

  const page = await browser.newPage()
  const login = async (state) => {
    await page.goto(`http://127.0.0.1:${providerPort}/authorize?state=${state}`)
    assert.equal(page.url(), `http://localhost:${canonical}/callback?code=xyz${state}`)
    return { who: await page.textContent('#who'), code: await page.textContent('#code') }
  }

  // No server runs: checkout starts the background proxy, which forwards the port.
  let r = cli(worktrees.a, 'checkout', 'web')
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, `canonical :${canonical} → web of a (port ${portOf('a')})\n`)
  assert.match(r.stderr, new RegExp(`started the background proxy \\(pid \\d+\\) on http://127\\.0\\.0\\.1:${proxyPort}/`))
  assert.equal(cli(main, 'proxy', 'status').status, 0)
  assert.deepEqual(await login('1'), { who: 'a', code: 'xyz1' })

  r = cli(worktrees.b, 'checkout', 'web')
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /moved from a/)
  // The same browser, its connection to :C kept alive from the last flow: now B answers.
  assert.deepEqual(await login('2'), { who: 'b', code: 'xyz2' })

  // The dashboard shows who holds the canonical port.
  await page.goto(`http://127.0.0.1:${dashboardPort}/`)
  await page.waitForFunction(
    (text) => document.getElementById('checkouts').textContent.includes(text),
    `:${canonical} → web of b (port ${portOf('b')})`,
    { timeout: 10000 }
  )
  assert.match(await page.textContent('#checkouts-title'), /Canonical ports/)

  // Given back: the flow reaches nobody, and the page says so.
  r = cli(worktrees.b, 'checkout', '--release')
  assert.equal(r.status, 0, r.stderr)
  await assert.rejects(page.goto(`http://127.0.0.1:${providerPort}/authorize?state=3`), /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET/)
  await page.close()
  const shown = await browser.newPage()
  await shown.goto(`http://127.0.0.1:${dashboardPort}/`)
  await shown.waitForFunction(() => document.getElementById('checkouts').textContent.includes('None checked out'), null, { timeout: 10000 })
  await shown.close()
})
