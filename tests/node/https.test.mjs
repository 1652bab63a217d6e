// HTTPS named URLs as a person meets them: `atlas-ports trust` fills a private NSS database
// (HOME is a temporary folder), headless Chromium started with that HOME loads
// https://web.<worktree>.localhost:PORT/ with no certificate error and over HTTP/2, a Secure
// cookie of one worktree's server is not sent to another's, a WebSocket crosses the proxy by
// HTTP/2's extended CONNECT (RFC 8441), Vite's hot reload works over wss://, and `untrust`
// takes the CA out again.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import http from 'node:http'
import http2 from 'node:http2'
import path from 'node:path'
import tls from 'node:tls'
import { freeBlock, nativeBin, npmDir, registryWith, tempDir } from './support.mjs'

const requireDev = createRequire(path.join(npmDir, 'package.json'))
const { chromium } = requireDev('playwright-core')
const { WebSocketServer } = requireDev('ws')
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium'

const home = tempDir('atlas-https-home-')
const env = { ...process.env, HOME: home }
const nssdb = path.join(home, '.pki', 'nssdb')
const listNss = () => execFileSync('certutil', ['-L', '-d', `sql:${nssdb}`], { encoding: 'utf8' })

let browser
let d
let b
let ca

/** An HTTP server on 127.0.0.1:port. */
async function serve(port, handler) {
  const server = http.createServer(handler)
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve))
  return server
}

const servers = []

before(async () => {
  b = await freeBlock(4)
  const registry = registryWith({ web: [b, b + 3] })
  for (const wt of ['a', 'b', 'ws', 'vite']) {
    execFileSync(nativeBin, ['allocate', '--registry', registry, '--service', 'web', '--worktree', wt, '--quiet'], { env })
  }
  // a sets a Secure cookie; a and b echo the Cookie header they receive.
  const echo = (name) => (req, res) => {
    if (req.url === '/set') res.setHeader('set-cookie', `from_${name}=1; Secure; HttpOnly; Path=/`)
    res.setHeader('content-type', 'text/html')
    res.end(`<title>${name}</title><pre id="cookie">${req.headers.cookie ?? ''}</pre><pre id="proto">${req.headers['x-forwarded-proto']}</pre>`)
  }
  servers.push(await serve(b, echo('a')), await serve(b + 1, echo('b')))
  const wss = new WebSocketServer({ host: '127.0.0.1', port: b + 2 })
  wss.on('connection', (socket, req) => socket.on('message', (m) => socket.send(`echo ${m} via ${req.headers.host}`)))
  servers.push(wss)

  const trusted = execFileSync(nativeBin, ['trust', '--store', 'nss', '--format', 'json'], { env, encoding: 'utf8' })
  const report = JSON.parse(trusted)
  assert.deepEqual(report.stores.map((s) => s.outcome), ['trusted'])
  assert.equal(report.stores[0].store, `NSS database ${nssdb}`)
  ca = fs.readFileSync(report.ca, 'utf8')
  assert.match(listNss(), /atlas-ports local CA [0-9a-f]{16}\s+C,,/)

  const proc = spawn(nativeBin, ['dashboard', '--port', '0', '--registry', registry, '--format', 'json'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const port = await new Promise((resolve, reject) => {
    let out = ''
    proc.stdout.on('data', (chunk) => {
      out += chunk
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]).port)
    })
    proc.on('exit', (code) => reject(new Error(`dashboard exited ${code}`)))
  })
  d = { proc, port, registry }
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'], env })
})

after(async () => {
  await browser?.close()
  d?.proc.kill('SIGTERM')
  for (const s of servers) s.close()
})

test('Chromium trusts the named URL through the NSS database, over HTTP/2, and cookies stay with their worktree', async () => {
  const page = await browser.newPage()
  const set = await page.goto(`https://web.a.localhost:${d.port}/set`)
  assert.equal(set.status(), 200)
  assert.equal(await page.locator('#proto').innerText(), 'https')
  assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol), 'h2')
  const security = await set.securityDetails()
  assert.equal(security.subjectName, `web.a.localhost`)
  assert.equal(security.protocol, 'TLS 1.3')

  await page.goto(`https://web.a.localhost:${d.port}/`)
  assert.equal(await page.locator('#cookie').innerText(), 'from_a=1', 'a gets its own cookie back')
  await page.goto(`https://web.b.localhost:${d.port}/`)
  assert.equal(await page.locator('#cookie').innerText(), '', "b's server never sees a's cookie")
  await page.close()
})

test('a name no allocation routes gets no certificate, so the browser refuses it', async () => {
  const page = await browser.newPage()
  await assert.rejects(page.goto(`https://nothing.here.localhost:${d.port}/`), /ERR_/)
  await page.close()
})

test('a WebSocket crosses the proxy by HTTP/2 extended CONNECT (RFC 8441)', async () => {
  const authority = `web.ws.localhost:${d.port}`
  const session = http2.connect(`https://${authority}`, {
    createConnection: () => tls.connect({ host: '127.0.0.1', port: d.port, servername: 'web.ws.localhost', ca, ALPNProtocols: ['h2'] }),
  })
  try {
    const settings = await new Promise((resolve, reject) => session.once('remoteSettings', resolve).once('error', reject))
    assert.equal(settings.enableConnectProtocol, true)
    const stream = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'https', ':authority': authority, ':path': '/', 'sec-websocket-version': '13' })
    const headers = await new Promise((resolve, reject) => stream.once('response', resolve).once('error', reject))
    assert.equal(headers[':status'], 200)
    // A masked text frame, as a client sends (RFC 6455 §5.2).
    const text = Buffer.from('hello')
    const mask = Buffer.from([1, 2, 3, 4])
    stream.write(Buffer.concat([Buffer.from([0x81, 0x80 | text.length]), mask, Buffer.from(text.map((c, i) => c ^ mask[i % 4]))]))
    const frame = await new Promise((resolve) => stream.once('data', resolve))
    assert.equal(frame[0], 0x81)
    assert.equal(frame.subarray(2, 2 + frame[1]).toString(), `echo hello via ${authority}`)
    stream.close()
  } finally {
    session.close()
  }
})

test('Vite\'s hot reload works over wss:// through an HTTPS named URL', async (t) => {
  const port = b + 3
  const app = fs.mkdtempSync(path.join(home, 'vite-app-'))
  fs.writeFileSync(path.join(app, 'index.html'), '<!doctype html><title>app</title><p id="v"></p><script type="module" src="/main.js"></script>\n')
  const source = (v) => `document.getElementById('v').textContent = '${v}'\nif (import.meta.hot) import.meta.hot.accept()\n`
  fs.writeFileSync(path.join(app, 'main.js'), source('version 1'))
  const vite = spawn(process.execPath, [path.join(npmDir, 'node_modules', 'vite', 'bin', 'vite.js'), '--port', String(port), '--strictPort', '--host', '127.0.0.1', '--logLevel', 'warn'], { cwd: app, stdio: 'ignore', detached: true })
  t.after(() => process.kill(-vite.pid, 'SIGTERM'))
  for (let i = 0; i < 150 && !(await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 200))

  const page = await browser.newPage()
  const sockets = []
  page.on('websocket', (ws) => sockets.push(ws.url()))
  const connected = new Promise((resolve) => page.on('console', (m) => { if (m.text().includes('[vite] connected')) resolve() }))
  const loaded = await page.goto(`https://web.vite.localhost:${d.port}/`)
  assert.equal((await loaded.securityDetails()).subjectName, 'web.vite.localhost')
  await page.waitForFunction(() => document.getElementById('v').textContent === 'version 1', null, { timeout: 10000 })
  await Promise.race([connected, new Promise((resolve, reject) => setTimeout(() => reject(new Error('Vite\'s client never connected over wss:// through the proxy')), 15000))])
  await page.evaluate(() => { window.sameDocument = true })
  // Vite's watcher may still be starting on a busy machine: edit again until one arrives.
  let arrived = false
  for (let edit = 1; edit <= 4 && !arrived; edit++) {
    fs.writeFileSync(path.join(app, 'main.js'), `${source('version 2')}// edit ${edit}\n`)
    arrived = await page.waitForFunction(() => document.getElementById('v').textContent === 'version 2', null, { timeout: 5000 }).then(() => true, () => false)
  }
  assert.ok(arrived, 'an edit reached the open page over the wss:// socket')
  assert.equal(await page.evaluate(() => window.sameDocument), true, 'the update was hot: the page was not reloaded')
  // Vite falls back to the server's own port when its socket fails: make sure it did not.
  assert.ok(sockets.length > 0 && sockets.every((u) => u.startsWith(`wss://web.vite.localhost:${d.port}/`)), `sockets: ${sockets}`)
  await page.close()
})

test('a Node program under `run` trusts the named URL through NODE_EXTRA_CA_CERTS, a file of the user\'s own included', () => {
  // Connects to the proxy as web.a.localhost with Node's default trust (no `ca` option) and
  // prints whether the certificate was accepted, and what NODE_EXTRA_CA_CERTS named.
  const probe = `const tls = require('node:tls')
const s = tls.connect({ host: '127.0.0.1', port: ${d.port}, servername: 'web.a.localhost' }, () => { console.log(JSON.stringify({ authorized: s.authorized, file: process.env.NODE_EXTRA_CA_CERTS })); s.end() })
s.on('error', (e) => { console.log(JSON.stringify({ error: e.code, file: process.env.NODE_EXTRA_CA_CERTS })) })`
  const run = (extra) => JSON.parse(execFileSync(nativeBin, ['run', '--registry', d.registry, '--service', 'web', '--worktree', 'a', '--quiet', '--', process.execPath, '-e', probe], { env: { ...env, ...extra }, encoding: 'utf8' }))

  // Without the variable: Node is handed the CA's certificate.
  const plain = { ...env }
  delete plain.NODE_EXTRA_CA_CERTS
  const bare = JSON.parse(execFileSync(nativeBin, ['run', '--registry', d.registry, '--service', 'web', '--worktree', 'a', '--quiet', '--', process.execPath, '-e', probe], { env: plain, encoding: 'utf8' }))
  assert.deepEqual(bare, { authorized: true, file: path.join(process.env.ATLAS_PORTS_HOME, 'ca', 'ca.pem') })

  // A file of the user's own (a corporate root, say): Node gets a bundle of theirs and ours.
  const own = path.join(home, 'corporate.pem')
  fs.writeFileSync(own, tls.rootCertificates[0])
  const bundled = run({ NODE_EXTRA_CA_CERTS: own })
  assert.equal(bundled.authorized, true)
  assert.equal(bundled.file, path.join(process.env.ATLAS_PORTS_HOME, 'ca', 'node-extra-ca-certs.pem'))
  const root = tls.rootCertificates[0]
  assert.equal(fs.readFileSync(bundled.file, 'utf8'), `${root.endsWith('\n') ? root : `${root}\n`}${ca}`)
  assert.equal(fs.readFileSync(own, 'utf8'), tls.rootCertificates[0], "the user's file is untouched")

  // Their file already holds our CA: it is left as it is.
  const both = path.join(home, 'both.pem')
  fs.writeFileSync(both, ca)
  assert.deepEqual(run({ NODE_EXTRA_CA_CERTS: both }), { authorized: true, file: both })
})

test('untrust removes exactly our CA from the NSS database', () => {
  const out = execFileSync(nativeBin, ['untrust', '--store', 'nss'], { env, encoding: 'utf8' })
  assert.match(out, new RegExp(`removed: NSS database ${nssdb}`))
  assert.doesNotMatch(listNss(), /atlas-ports local CA/)
  const again = execFileSync(nativeBin, ['untrust', '--store', 'nss'], { env, encoding: 'utf8' })
  assert.match(again, /not there: NSS database/)
})
