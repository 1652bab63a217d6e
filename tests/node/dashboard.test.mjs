// `atlas-ports dashboard`, as a user meets it: started through the npm bin (or the native
// program), looked at in real headless Chromium (Debian's, driven by playwright-core), and
// reached at its named URLs over real sockets (HTTP, a stream, a WebSocket).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { addWorktree, atlas, freeBlock, gitRepo, nativeBin, npmBin, npmDir, registryWith, root } from './support.mjs'

const requireDev = createRequire(path.join(npmDir, 'package.json'))
const { chromium } = requireDev('playwright-core')
const WebSocket = requireDev('ws')
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium'
const screenshot = path.join(root, 'target', 'dashboard.png')

/** Allocates through the native CLI; returns the port. */
function allocate(registry, service, worktree, description = '') {
  const out = execFileSync(nativeBin, ['allocate', '--registry', registry, '--service', service, '--worktree', worktree, '--description', description, '--quiet'], { encoding: 'utf8' })
  return Number(out.trim())
}

/** Starts `dashboard` (through the npm bin unless `native`); resolves with its port once it listens. */
async function dashboard(registry, { native = false } = {}) {
  const [cmd, pre] = native ? [nativeBin, []] : [process.execPath, [npmBin]]
  const proc = spawn(cmd, [...pre, 'dashboard', '--port', '0', '--registry', registry, '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stderr.on('data', (d) => { err += d })
  const port = await new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      out += d
      const line = out.split('\n')[0]
      if (out.includes('\n')) resolve(JSON.parse(line).port)
    })
    proc.on('exit', (code) => reject(new Error(`dashboard exited ${code}: ${err}`)))
  })
  return { proc, port, url: `http://127.0.0.1:${port}/`, stop: () => proc.kill('SIGTERM') }
}

/** An HTTP server on 127.0.0.1:port answering `handler` (or `text`). */
async function serve(port, handler) {
  const server = http.createServer(typeof handler === 'function' ? handler : (req, res) => res.end(handler))
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve))
  return server
}

/** A request to 127.0.0.1:port with the given Host and headers; resolves `{ status, headers, body }`. */
function request(port, { host, method = 'GET', path: p = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers: { ...(host ? { host } : {}), ...headers } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => { text += d })
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

let browser
before(async () => {
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] })
})
after(async () => {
  await browser?.close()
})

test('the page lists the allocations, turns a row healthy when its server starts, and its button releases a port', async (t) => {
  const b = await freeBlock(10)
  const registry = registryWith({ web: [b, b + 4], api: [b + 5, b + 9] })
  const web = allocate(registry, 'web', 'main', 'Frontend dev server')
  const api = allocate(registry, 'api', 'main')
  const other = allocate(registry, 'web', 'feature/login')
  const d = await dashboard(registry)
  t.after(d.stop)
  const page = await browser.newPage({ colorScheme: 'light' })
  const policyErrors = []
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) policyErrors.push(m.text()) })
  page.on('pageerror', (e) => policyErrors.push(String(e)))
  await page.goto(d.url)

  await page.waitForSelector(`tr[data-port="${other}"]`, { timeout: 5000 })
  for (const port of [web, api, other]) {
    assert.equal(await page.locator(`tr[data-port="${port}"]`).count(), 1, `a row for port ${port}`)
  }
  assert.equal(await page.locator(`tr[data-port="${web}"]`).getAttribute('data-status'), 'not_running')
  assert.match(await page.locator('tbody[data-worktree="feature/login"] tr.worktree').innerText(), /feature\/login/)
  assert.match(await page.locator(`tr[data-port="${web}"]`).innerText(), /Frontend dev server/)
  assert.match(await page.locator(`tr[data-port="${other}"] a`).first().getAttribute('href'), new RegExp(`^http://web\\.feature-login\\.localhost:${d.port}/$`))

  // A server starts on main's web port: the row turns healthy without a reload.
  const server = await serve(web, 'hello from main')
  t.after(() => server.close())
  const started = Date.now()
  await page.waitForSelector(`tr[data-port="${web}"][data-status="healthy"]`, { timeout: 3000 })
  t.diagnostic(`healthy after ${Date.now() - started} ms`)
  assert.match(await page.locator(`tr[data-port="${web}"]`).innerText(), /HTTP 200/)

  fs.mkdirSync(path.dirname(screenshot), { recursive: true })
  await page.screenshot({ path: screenshot, fullPage: true })
  assert.ok(fs.statSync(screenshot).size > 10_000, 'a screenshot is written')

  // The release button removes the row, and the allocation from the file.
  await page.getByRole('button', { name: `Release port ${api} (api of main)` }).click()
  await page.waitForSelector(`tr[data-port="${api}"]`, { state: 'detached', timeout: 3000 })
  const ports = JSON.parse(fs.readFileSync(registry, 'utf8')).allocations.map((a) => a.port)
  assert.deepEqual(ports.sort(), [web, other].sort())
  assert.match(await page.locator('#notice').innerText(), new RegExp(`Released port ${api}`))

  // The filter narrows the table; a keyboard user reaches it with "/".
  await page.keyboard.press('/')
  await page.keyboard.type('login')
  assert.equal(await page.locator('tbody tr[data-port]').count(), 1)
  assert.deepEqual(policyErrors, [], 'nothing was blocked by the page\'s Content-Security-Policy')
  await page.close()
})

test('prune shows its dry run first and releases only when confirmed; release-worktree too, by keyboard', async (t) => {
  const b = await freeBlock(4)
  const repo = gitRepo()
  const gone = path.join(path.dirname(repo), `gone-${process.pid}`)
  execFileSync('git', ['worktree', 'add', '-q', '-b', `gone-${process.pid}`, gone], { cwd: repo })
  const registry = registryWith({ web: [b, b + 3] }, repo)
  execFileSync(nativeBin, ['allocate', '--registry', registry, '--service', 'web', '--quiet'], { cwd: gone })
  const kept = allocate(registry, 'web', 'kept')
  execFileSync('git', ['worktree', 'remove', gone], { cwd: repo })
  const before = fs.readFileSync(registry)

  const d = await dashboard(registry)
  t.after(d.stop)
  const page = await browser.newPage()
  await page.goto(d.url)
  await page.waitForSelector(`tr[data-port="${kept}"]`)
  await page.getByRole('button', { name: 'Prune…' }).click()
  const dialog = page.locator('dialog#confirm')
  await dialog.waitFor({ state: 'visible' })
  assert.match(await dialog.innerText(), new RegExp(`gone-${process.pid}: web on port ${b}`))
  await page.getByRole('button', { name: 'Cancel' }).click()
  assert.deepEqual(fs.readFileSync(registry), before, 'the dry run and a cancel change nothing')

  await page.getByRole('button', { name: 'Prune…' }).click()
  await page.getByRole('button', { name: 'Release 1' }).click()
  await page.waitForSelector(`tr[data-port="${b}"]`, { state: 'detached', timeout: 3000 })
  assert.deepEqual(JSON.parse(fs.readFileSync(registry, 'utf8')).allocations.map((a) => a.port), [kept])

  // By keyboard alone: Enter on the button opens the dialog with Cancel focused, Escape
  // cancels it, and Tab then Enter confirms.
  const releaseAll = page.getByRole('button', { name: 'Release every port of kept' })
  await releaseAll.focus()
  await page.keyboard.press('Enter')
  await dialog.waitFor({ state: 'visible' })
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel')
  await page.keyboard.press('Escape')
  await dialog.waitFor({ state: 'hidden' })
  assert.equal((JSON.parse(fs.readFileSync(registry, 'utf8'))).allocations.length, 1, 'Escape released nothing')
  await releaseAll.focus()
  await page.keyboard.press('Enter')
  await dialog.waitFor({ state: 'visible' })
  await page.keyboard.press('Tab')
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Release 1')
  await page.keyboard.press('Enter')
  await page.waitForSelector(`tr[data-port="${kept}"]`, { state: 'detached', timeout: 3000 })
  assert.deepEqual(JSON.parse(fs.readFileSync(registry, 'utf8')).allocations, [])
  await page.close()
})

test('a page on another origin cannot release a port, and a foreign Host is refused', async (t) => {
  const b = await freeBlock(3)
  const registry = registryWith({ web: [b, b + 1] })
  const port = allocate(registry, 'web', 'main')
  const d = await dashboard(registry)
  t.after(d.stop)
  const token = (await request(d.port, { host: `127.0.0.1:${d.port}` })).body.match(/content="([0-9a-f]{64})"/)[1]
  const unchanged = fs.readFileSync(registry)

  // The attacker's page on another origin tries both kinds of cross-origin POST; it even knows
  // the token (as if it had leaked): the Origin check still refuses.
  const evilPage = `<!doctype html><title>evil</title><script>
    const body = JSON.stringify({ port: ${port}, worktree: 'main' })
    const target = 'http://127.0.0.1:${d.port}/api/release'
    window.results = Promise.all([
      fetch(target, { method: 'POST', headers: { 'content-type': 'application/json', 'x-atlas-ports-token': '${token}' }, body })
        .then((r) => 'status ' + r.status, (e) => 'blocked: ' + e.message),
      fetch(target, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body })
        .then((r) => 'opaque ' + r.type, (e) => 'blocked: ' + e.message),
    ])
  </script>`
  const evil = await serve(b + 2, (req, res) => { res.setHeader('content-type', 'text/html'); res.end(evilPage) })
  t.after(() => evil.close())
  const page = await browser.newPage()
  await page.goto(`http://127.0.0.1:${b + 2}/`)
  const results = await page.evaluate(() => window.results)
  t.diagnostic(`the other origin's requests: ${results.join('; ')}`)
  assert.ok(!results.some((r) => r === 'status 200'), 'no request succeeded')
  await page.close()
  assert.deepEqual(fs.readFileSync(registry), unchanged, 'the registry is byte for byte as it was')

  // The same from outside a browser: the Origin must be the dashboard's own.
  const post = (headers) => request(d.port, { host: `127.0.0.1:${d.port}`, method: 'POST', path: '/api/release', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ port, worktree: 'main' }) })
  const wrongOrigin = await post({ 'x-atlas-ports-token': token, origin: 'http://evil.example' })
  assert.equal(wrongOrigin.status, 403)
  assert.equal(JSON.parse(wrongOrigin.body).error.code, 'ERR_FORBIDDEN')
  assert.equal((await post({ 'x-atlas-ports-token': token })).status, 403, 'no Origin')
  assert.equal((await post({ origin: `http://127.0.0.1:${d.port}` })).status, 403, 'no token')
  assert.equal((await post({ 'x-atlas-ports-token': 'f'.repeat(64), origin: `http://127.0.0.1:${d.port}` })).status, 403, 'a wrong token')
  assert.equal((await request(d.port, { host: `127.0.0.1:${d.port}`, path: '/api/state' })).status, 403, 'reading the state needs the token too')
  assert.deepEqual(fs.readFileSync(registry), unchanged)

  // DNS rebinding: a request naming another host is refused before anything is read or done.
  for (const p of ['/', '/api/state']) {
    const r = await request(d.port, { host: 'evil.example', path: p, headers: { 'x-atlas-ports-token': token } })
    assert.equal(r.status, 421, p)
    assert.match(r.body, /evil\.example/)
  }
  const rebound = await post({ host: `evil.example:${d.port}`, 'x-atlas-ports-token': token, origin: `http://evil.example:${d.port}` })
  assert.equal(rebound.status, 421)
  assert.deepEqual(fs.readFileSync(registry), unchanged)

  // With the page's own token and Origin, the same request works.
  const ok = await post({ 'x-atlas-ports-token': token, origin: `http://127.0.0.1:${d.port}` })
  assert.equal(ok.status, 200)
  assert.equal(JSON.parse(ok.body).released[0].port, port)
})

test('Start runs a worktree\'s declared command and the row turns healthy; Stop ends it; another origin can do neither', async (t) => {
  const main = gitRepo()
  const b = await freeBlock(2)
  fs.writeFileSync(path.join(main, 'atlas-ports.toml'), '[services.web]\ncommand = "exec python3 -m http.server {port} --bind 127.0.0.1"\n[services.api]\n')
  fs.mkdirSync(path.join(main, '.atlas', 'worktrees'), { recursive: true })
  const registry = path.join(main, '.atlas', 'worktrees', 'ports.json')
  fs.copyFileSync(registryWith({ web: [b, b], api: [b + 1, b + 1] }), registry)
  atlas.upSync({ cwd: main })
  t.after(() => { try { atlas.stopSync({ cwd: main, grace: 0 }) } catch {} })
  const d = await dashboard(registry)
  t.after(d.stop)
  const token = (await request(d.port, { host: `127.0.0.1:${d.port}` })).body.match(/content="([0-9a-f]{64})"/)[1]

  // Another origin, even with the token, starts nothing.
  const post = (p, headers) => request(d.port, { host: `127.0.0.1:${d.port}`, method: 'POST', path: p, headers: { 'content-type': 'application/json', 'x-atlas-ports-token': token, ...headers }, body: JSON.stringify({ worktree: 'repo', service: 'web' }) })
  for (const p of ['/api/start', '/api/stop']) {
    const refused = await post(p, { origin: 'http://evil.example' })
    assert.equal(refused.status, 403, p)
    assert.equal(JSON.parse(refused.body).error.code, 'ERR_FORBIDDEN')
  }
  assert.equal((await request(d.port, { host: `127.0.0.1:${d.port}`, method: 'POST', path: '/api/start', headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${d.port}` }, body: '{"worktree":"repo","service":"web"}' })).status, 403, 'no token')
  assert.equal(atlas.getStatusSync('repo', { cwd: main }).ranges.find((r) => r.service === 'web').allocations[0].status, 'not_running', 'nothing was started')

  const page = await browser.newPage()
  await page.goto(d.url)
  const row = `tr[data-port="${b}"]`
  await page.waitForSelector(row)
  assert.equal(await page.locator(`tr[data-port="${b + 1}"] button.start`).count(), 0, 'no Start for a service without a command')
  assert.equal(await page.locator(`${row} button.stop`).count(), 0, 'no Stop while nothing runs')
  await page.getByRole('button', { name: 'Start web of repo' }).click()
  await page.waitForSelector(`${row}[data-status="healthy"]`, { timeout: 30000 })
  await page.waitForSelector(`${row} [data-origin="started"]`, { timeout: 3000 })
  const text = await page.locator(row).innerText()
  assert.match(text, /started by atlas-ports/)
  const pid = atlas.getStatusSync('repo', { cwd: main }).ranges.find((r) => r.service === 'web').allocations[0].pid
  assert.ok(pid && text.includes(String(pid)), `the row shows the PID ${pid}`)
  assert.match(await page.locator('#notice').innerText(), /web of repo: started/)

  await page.getByRole('button', { name: 'Stop web of repo' }).click()
  await page.waitForSelector(`${row}[data-status="not_running"]`, { timeout: 10000 })
  assert.match(await page.locator('#notice').innerText(), new RegExp(`Stopped 1 process of web of repo \\(pid ${pid}\\)`))
  // Gone, and reaped by the dashboard that started it (no zombie keeps the PID).
  const gone = () => { try { process.kill(pid, 0); return false } catch (e) { return e.code === 'ESRCH' } }
  for (const until = Date.now() + 2000; !gone() && Date.now() < until;) await new Promise((resolve) => setTimeout(resolve, 50))
  assert.ok(gone(), 'the server is gone')
  await page.waitForSelector(`${row} button.start`, { timeout: 3000 })
  await page.close()
})

test('Prune stops the server atlas-ports started in a worktree that was removed, after listing it in the dry run', async (t) => {
  const main = gitRepo()
  const b = await freeBlock(2)
  const gone = addWorktree(main, `gone-${process.pid}`)
  fs.writeFileSync(path.join(gone, 'atlas-ports.toml'), '[services.web]\ncommand = "exec python3 -m http.server {port} --bind 127.0.0.1"\n')
  fs.mkdirSync(path.join(main, '.atlas', 'worktrees'), { recursive: true })
  const registry = path.join(main, '.atlas', 'worktrees', 'ports.json')
  fs.copyFileSync(registryWith({ web: [b, b + 1] }), registry)
  const { pid, state } = (await atlas.start({ cwd: gone, timeout: 20000 })).services[0]
  t.after(() => { try { process.kill(pid, 'SIGKILL') } catch {} })
  assert.equal(state, 'started')
  execFileSync('git', ['worktree', 'remove', '--force', gone], { cwd: main })

  const d = await dashboard(registry)
  t.after(d.stop)
  // Start in a worktree whose folder is gone is refused, naming why.
  const token = (await request(d.port, { host: `127.0.0.1:${d.port}` })).body.match(/content="([0-9a-f]{64})"/)[1]
  const headers = { 'content-type': 'application/json', 'x-atlas-ports-token': token, origin: `http://127.0.0.1:${d.port}` }
  const refused = await request(d.port, { host: `127.0.0.1:${d.port}`, method: 'POST', path: '/api/start', headers, body: JSON.stringify({ worktree: `gone-${process.pid}`, service: 'web' }) })
  assert.equal(refused.status, 400)
  assert.equal(JSON.parse(refused.body).error.code, 'ERR_INVALID_ARGUMENT')
  assert.match(JSON.parse(refused.body).error.message, /is gone/)
  const page = await browser.newPage()
  await page.goto(d.url)
  await page.waitForSelector(`tr[data-port="${b}"]`)
  await page.getByRole('button', { name: 'Prune…' }).click()
  const dialog = page.locator('dialog#confirm')
  await dialog.waitFor({ state: 'visible' })
  assert.match(await dialog.innerText(), new RegExp(`gone-${process.pid}: stop \\S+ ${pid} \\(web\\)`))
  process.kill(pid, 0) // the dry run signalled nothing
  await page.getByRole('button', { name: 'Release 1' }).click()
  await page.waitForSelector(`tr[data-port="${b}"]`, { state: 'detached', timeout: 10000 })
  assert.match(await page.locator('#notice').innerText(), /Pruned 1 allocations, stopped 1 processes/)
  const gone_ = () => { try { process.kill(pid, 0); return false } catch (e) { return e.code === 'ESRCH' } }
  for (const until = Date.now() + 2000; !gone_() && Date.now() < until;) await new Promise((resolve) => setTimeout(resolve, 50))
  assert.ok(gone_(), 'the server of the removed worktree is gone')
  await page.close()
})

test('named URLs reach each worktree\'s own server, stream, carry WebSockets, and say when a name is unknown or down', async (t) => {
  const b = await freeBlock(6)
  const registry = registryWith({ web: [b, b + 3] })
  const main = allocate(registry, 'web', 'main')
  const feature = allocate(registry, 'web', 'feature/Login_v2')
  const stopped = allocate(registry, 'web', 'idle')
  const d = await dashboard(registry, { native: true })
  t.after(d.stop)
  const name = (worktree) => `web.${worktree}.localhost:${d.port}`

  const seen = []
  const mainServer = await serve(main, (req, res) => {
    seen.push(req.headers)
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: first\n\n')
      setTimeout(() => res.end('data: last\n\n'), 1500)
      return
    }
    res.end(`main ${req.method} ${req.url}`)
  })
  t.after(() => mainServer.close())
  const featureServer = await serve(feature, 'feature')
  t.after(() => featureServer.close())
  new WebSocket.WebSocketServer({ server: featureServer }).on('connection', (ws) => ws.on('message', (m) => ws.send(`echo: ${m}`)))

  const r1 = await request(d.port, { host: name('main'), path: '/a?b=1' })
  assert.equal(r1.status, 200)
  assert.equal(r1.body, 'main GET /a?b=1')
  assert.equal(seen[0].host, name('main'), 'the service sees the name it was reached by')
  assert.equal(seen[0]['x-forwarded-host'], name('main'))
  assert.equal((await request(d.port, { host: name('feature-login-v2') })).body, 'feature')
  assert.equal((await request(d.port, { host: name('FEATURE-LOGIN-V2') })).body, 'feature', 'host names are case-insensitive')

  // A streamed answer arrives as it is written, not when it ends.
  const firstChunk = await new Promise((resolve, reject) => {
    const started = Date.now()
    http.get({ host: '127.0.0.1', port: d.port, path: '/stream', headers: { host: name('main') } }, (res) => {
      res.once('data', (chunk) => { resolve({ chunk: String(chunk), after: Date.now() - started }); res.destroy() })
    }).on('error', reject)
  })
  assert.equal(firstChunk.chunk, 'data: first\n\n')
  assert.ok(firstChunk.after < 1000, `the first event came after ${firstChunk.after} ms, before the stream ended`)

  // A WebSocket through the proxy (as Vite's hot reload uses).
  const ws = new WebSocket(`ws://${name('feature-login-v2')}/hmr`, { lookup: (host, opts, cb) => opts && opts.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4) })
  const echoed = await new Promise((resolve, reject) => {
    ws.on('open', () => ws.send('hello'))
    ws.on('message', (m) => resolve(String(m)))
    ws.on('error', reject)
  })
  ws.close()
  assert.equal(echoed, 'echo: hello')

  // Down: a 502 page naming the service; unknown: a 404 page listing the names there are.
  const down = await request(d.port, { host: name('idle') })
  assert.equal(down.status, 502)
  assert.match(down.body, /web of worktree idle is not running/)
  assert.match(down.body, new RegExp(`port ${stopped}`))
  const unknown = await request(d.port, { host: name('nope') })
  assert.equal(unknown.status, 404)
  assert.match(unknown.body, new RegExp(`http://web\\.main\\.localhost:${d.port}/`))
  assert.match(unknown.body, new RegExp(`http://web\\.feature-login-v2\\.localhost:${d.port}/`))

  // In a real browser, *.localhost needs no hosts file.
  const page = await browser.newPage()
  await page.goto(`http://${name('main')}/from-browser`)
  assert.equal(await page.locator('body').innerText(), 'main GET /from-browser')
  await page.close()
})

test('Vite\'s hot reload works through a named URL: an edit reaches the open page without a reload', async (t) => {
  const b = await freeBlock(2)
  const registry = registryWith({ web: [b, b + 1] })
  const port = allocate(registry, 'web', 'main')
  const app = fs.mkdtempSync(`${registry}.app-`)
  fs.writeFileSync(path.join(app, 'index.html'), '<!doctype html><title>app</title><p id="v"></p><script type="module" src="/main.js"></script>\n')
  const source = (v) => `document.getElementById('v').textContent = '${v}'\nif (import.meta.hot) import.meta.hot.accept()\n`
  fs.writeFileSync(path.join(app, 'main.js'), source('version 1'))
  const vite = spawn(process.execPath, [path.join(npmDir, 'node_modules', 'vite', 'bin', 'vite.js'), '--port', String(port), '--strictPort', '--host', '127.0.0.1', '--logLevel', 'warn'], { cwd: app, stdio: 'ignore', detached: true })
  t.after(() => process.kill(-vite.pid, 'SIGTERM'))
  const d = await dashboard(registry, { native: true })
  t.after(d.stop)
  for (let i = 0; i < 150 && !(await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 200))

  const page = await browser.newPage()
  const sockets = []
  page.on('websocket', (ws) => sockets.push(ws.url()))
  // Vite's client opens its WebSocket to the page's own host (through the proxy) and says
  // "[vite] connected." once the server's first message came back over it.
  const connected = new Promise((resolve) => page.on('console', (m) => { if (m.text().includes('[vite] connected')) resolve() }))
  await page.goto(`http://web.main.localhost:${d.port}/`)
  await page.waitForFunction(() => document.getElementById('v').textContent === 'version 1', null, { timeout: 10000 })
  await Promise.race([connected, new Promise((resolve, reject) => setTimeout(() => reject(new Error('Vite\'s client never connected through the proxy')), 15000))])
  await page.evaluate(() => { window.sameDocument = true })
  // Vite's file watcher may still be starting on a busy machine, and an edit made before it
  // watches is never seen: edit again (the same text, a new comment) until one arrives.
  let arrived = false
  for (let edit = 1; edit <= 4 && !arrived; edit++) {
    fs.writeFileSync(path.join(app, 'main.js'), `${source('version 2')}// edit ${edit}\n`)
    arrived = await page.waitForFunction(() => document.getElementById('v').textContent === 'version 2', null, { timeout: 5000 }).then(() => true, () => false)
  }
  assert.ok(arrived, 'an edit reached the open page')
  assert.equal(await page.evaluate(() => window.sameDocument), true, 'the update was hot: the page was not reloaded')
  // Vite falls back to the server's own port when its socket fails: make sure it did not.
  assert.ok(sockets.length > 0 && sockets.every((u) => u.startsWith(`ws://web.main.localhost:${d.port}/`)), `sockets: ${sockets}`)
  await page.close()
})

test('100 allocations: every row is drawn, worktrees in natural order, and the filter narrows them', async (t) => {
  const b = await freeBlock(100)
  const registry = registryWith({ web: [b, b + 49], api: [b + 50, b + 99] })
  for (let i = 1; i <= 50; i++) {
    allocate(registry, 'web', `agent-${i}`)
    allocate(registry, 'api', `agent-${i}`)
  }
  const d = await dashboard(registry, { native: true })
  t.after(d.stop)
  const page = await browser.newPage()
  await page.goto(d.url)
  await page.waitForFunction(() => document.querySelectorAll('tr[data-port]').length === 100, null, { timeout: 5000 })
  const order = await page.locator('tbody[data-worktree]').evaluateAll((bodies) => bodies.map((b) => b.dataset.worktree))
  assert.deepEqual(order, Array.from({ length: 50 }, (_, i) => `agent-${i + 1}`))
  const services = await page.locator('tbody[data-worktree="agent-7"] tr[data-port]').evaluateAll((rows) => rows.map((r) => r.dataset.service))
  assert.deepEqual(services, ['web', 'api'], 'services in the order of the ranges')
  await page.locator('#filter').fill('agent-17')
  assert.equal(await page.locator('tr[data-port]').count(), 2)
  await page.locator('#filter').fill(String(b + 50))
  assert.equal(await page.locator('tr[data-port]').count(), 1)
  await page.locator('#filter').fill('')
  await page.locator('#state-filter').selectOption('healthy')
  assert.equal(await page.locator('tr[data-port]').count(), 0)
  assert.equal(await page.locator('#empty').isVisible(), true)
  await page.close()
})
