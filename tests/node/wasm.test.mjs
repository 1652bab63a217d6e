// The WebAssembly packages (scripts/build-wasm.sh): an in-memory registry, the host passing
// busy ports and the time. The nodejs flavour by require(), the web flavour as an ES module.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { execFileSync, spawnSync } from 'node:child_process'
import http from 'node:http'
import { createRequire } from 'node:module'
import { codeOf, npmDir, root, tempDir, wasm, wasmDir } from './support.mjs'

const { PortRegistry } = wasm
const host = { now: Date.UTC(2025, 11, 31, 10, 0, 0), allocatedBy: 'user@hostname' }

test('the reference examples on an in-memory registry', () => {
  const reg = PortRegistry.withDefaultRanges(host)
  assert.equal(reg.allocatePort('web', 'review-GH-42', 'Frontend dev server', host), 8080)
  assert.equal(reg.allocatePort('web', 'feature-search', undefined, host), 8081)
  assert.deepEqual(reg.findNextPort('web'), { service: 'web', port: 8082, start: 8080, end: 8099, allocated: [8080, 8081] })
  assert.deepEqual(reg.listAllocatedPorts('review-GH-42'), [{
    port: 8080, worktree: 'review-GH-42', service: 'web', allocatedAt: '2025-12-31T10:00:00Z',
    allocatedBy: 'user@hostname', description: 'Frontend dev server', healthStatus: 'unknown',
  }])
  assert.equal(reg.releasePort(8080), true)
  assert.equal(reg.releasePort(8080), false)
  const stored = JSON.parse(reg.toJson())
  assert.equal(stored.metadata.total_allocations, 1)
  assert.equal(stored.allocations[0].port, 8081)
  // The reference scripts' report texts, from the stored state.
  assert.match(reg.statusText(), /^Port Allocation Status\n======================\n\nService: web \(8080-8099\)\n  8081 → feature-search \(web\)\n    Status: unknown \| PID: - \| Allocated: 2025-12-31 10:00:00\n  Available: 8080, 8082-8099 \(19 ports\)\n/)
  assert.match(reg.worktreeText('feature-search'), /^Ports for Worktree: feature-search\n={35}\n\nPort  \| Service/)
})

test('an invalid registry is refused with the native code, naming where', () => {
  for (const [text, where] of [
    ['{"ranges": {}, "allocations": [', /EOF while parsing/],
    ['', /empty/],
    ['[]', /expected a port registry object/],
    ['{"ranges": {"web": {"start": 9000, "end": 8000}}, "allocations": []}', /ranges\.web: start 9000 is greater than end 8000/],
    ['{"ranges": {}, "allocations": [{"port": "8080", "worktree": "w", "service": "web"}]}', /allocations\[0\]\.port: invalid type: string "8080"/],
  ]) {
    const e = codeOf(() => new PortRegistry(text))
    assert.equal(e.code, 'ERR_CORRUPT_REGISTRY', text)
    assert.match(e.message, where)
  }
  const reg = PortRegistry.withDefaultRanges()
  assert.equal(codeOf(() => reg.allocatePort('wbe', 'w')).code, 'ERR_UNKNOWN_SERVICE')
  assert.equal(codeOf(() => reg.releasePort(0)).code, 'ERR_INVALID_PORT')
  assert.equal(codeOf(() => reg.allocatePort('web', 'w', undefined, { bussy: [8080] })).code, 'ERR_INVALID_ARGUMENT', 'a typo in the host options is refused')
  const full = new PortRegistry('{"ranges": {"one": {"start": 7000, "end": 7000}}, "allocations": [{"port": 7000, "worktree": "w", "service": "one"}]}')
  assert.equal(codeOf(() => full.allocatePort('one', 'v')).code, 'ERR_RANGE_EXHAUSTED')
})

test('a canonical port recorded in the registry is never allocated, and a bad entry is refused', () => {
  const reg = new PortRegistry('{"ranges": {"api": {"start": 3000, "end": 3002}}, "allocations": [], "canonical_ports": {"3000": "web"}}')
  assert.equal(reg.allocatePort('api', 'a', undefined, host), 3001)
  assert.equal(reg.findNextPort('api').port, 3002)
  assert.equal(reg.allocatePort('api', 'b', undefined, host), 3002)
  assert.equal(codeOf(() => reg.allocatePort('api', 'c', undefined, host)).code, 'ERR_RANGE_EXHAUSTED')
  assert.deepEqual(JSON.parse(reg.toJson()).canonical_ports, { 3000: 'web' })
  const e = codeOf(() => new PortRegistry('{"ranges": {}, "allocations": [], "canonical_ports": {"70000": "web"}}'))
  assert.equal(e.code, 'ERR_CORRUPT_REGISTRY')
  assert.match(e.message, /canonical_ports\.70000: must be a port from 1 to 65535 naming a service/)
})

test('unknown fields and key order survive; untouched text comes back byte for byte', () => {
  const text = fs.readFileSync(path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'unknown-fields.json'), 'utf8')
  const reg = new PortRegistry(text)
  assert.equal(reg.toJson(), text)
  const port = reg.allocatePort('web-staging', 'b', undefined, host)
  assert.equal(reg.releasePort(port), true)
  const before = JSON.parse(text)
  const after = JSON.parse(reg.toJson())
  after.metadata.last_updated = before.metadata.last_updated
  assert.deepEqual(after, before)
  assert.deepEqual(Object.keys(after), Object.keys(before))
})

test('ports the host reports busy are skipped', () => {
  const reg = PortRegistry.withDefaultRanges()
  assert.equal(reg.allocatePort('cache', 'w', undefined, { busy: [6379, 6380] }), 6381)
  assert.equal(reg.findNextPort('cache', { busy: [6379, 6380, 6382] }).port, 6383)
  assert.equal(reg.findNextPort('cache').port, 6379, 'busy ports are per call: the host says what is busy now')
  assert.equal(reg.ensurePort('cache', 'w', undefined, { busy: [6381] }), 6381, 'a held port is returned even if busy: it is the worktree\'s own server')
})

test('registry-level conflicts and their report', () => {
  const reg = new PortRegistry(JSON.stringify({
    ranges: { web: { start: 8080, end: 8099 }, 'web-staging': { start: 8090, end: 8110 } },
    allocations: [
      { port: 8080, worktree: 'a', service: 'web' },
      { port: 8080, worktree: 'b', service: 'web' },
      { port: 7000, worktree: 'c', service: 'web' },
    ],
  }))
  const c = reg.checkConflicts()
  assert.equal(c.registryConflicts.length, 1)
  assert.deepEqual(c.registryConflicts[0].allocations.map((a) => a.worktree), ['a', 'b'])
  assert.deepEqual(c.problems.map((p) => p.kind), ['outside_range', 'overlapping_ranges'])
  assert.equal(c.hasConflicts, true)
  assert.match(reg.conflictsText(), /REGISTRY CONFLICT:\n  Port 8080 is allocated to multiple worktrees:/)
  assert.match(reg.conflictsText(), /Resolution: Run 'atlas-ports release 8080 --worktree b'/)
})

test('the web flavour loads as an ES module and agrees', async () => {
  const web = await import(pathToFileURL(path.join(wasmDir, 'web', 'atlas_ports.js')).href)
  web.initSync({ module: fs.readFileSync(path.join(wasmDir, 'web', 'atlas_ports_bg.wasm')) })
  const reg = web.PortRegistry.withDefaultRanges(host)
  assert.equal(reg.allocatePort('api', 'w', undefined, host), 3000)
  assert.equal(reg.toJson(), (() => { const r = PortRegistry.withDefaultRanges(host); r.allocatePort('api', 'w', undefined, host); return r.toJson() })())
})

// A budget, raised from 300 KB to 310 KB when canonical ports (kept out of every allocation,
// named by check and by a full range) made it 300,024 bytes: it catches a dependency pulled in
// by mistake, which costs tens of KB, not a feature's kilobyte.
test('the .wasm is under 310 KB before compression', () => {
  const size = fs.statSync(path.join(wasmDir, 'nodejs', 'atlas_ports_bg.wasm')).size
  assert.ok(size < 310_000, `${size} bytes`)
})

test('the atlas-ports-wasm package as installed: docs/wasm.md runs verbatim under Node and in Chromium, the types pass tsc --strict, one .wasm of the documented size', async () => {
  const stage = tempDir('atlas-wasm-stage-')
  const out = tempDir('atlas-wasm-out-')
  execFileSync(process.execPath, [path.join(root, 'scripts', 'dist-wasm.mjs'), '0.0.0-test', stage, out], { stdio: 'pipe' })
  const proj = tempDir('atlas-wasm-proj-')
  fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'p', version: '1.0.0', private: true, type: 'module' }))
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', path.join(out, 'atlas-ports-wasm-0.0.0-test.tgz')], { cwd: proj, stdio: 'pipe' })
  const installed = path.join(proj, 'node_modules', 'atlas-ports-wasm')
  const wasmFiles = execFileSync('find', [installed, '-name', '*.wasm'], { encoding: 'utf8' }).trim().split('\n')
  assert.equal(wasmFiles.length, 1, `one .wasm: ${wasmFiles}`)
  // The size docs/wasm.md states, to the KB it rounds to (within 3%).
  const stated = Number(fs.readFileSync(path.join(root, 'docs', 'wasm.md'), 'utf8').match(/the `\.wasm` is \*\*(\d+) KB\*\*/)[1])
  const kb = fs.statSync(wasmFiles[0]).size / 1024
  assert.ok(Math.abs(kb - stated) / kb < 0.03, `docs/wasm.md says ${stated} KB, the file is ${kb.toFixed(0)} KB`)

  // The documented snippet, verbatim, with the host's functions defined around it.
  const doc = fs.readFileSync(path.join(root, 'docs', 'wasm.md'), 'utf8')
  const snippet = doc.match(/```js\n(import init[\s\S]*?)```/)[1]
  fs.writeFileSync(path.join(proj, 'doc.mjs'), [
    "import fs from 'node:fs'",
    'const file = new URL(\'./ports.json\', import.meta.url)',
    'const readRegistryFile = async () => JSON.stringify({ ranges: { web: { start: 8080, end: 8089 } }, allocations: [] })',
    'const writeRegistryFile = async (text) => fs.writeFileSync(file, text)',
    'const portsInUse = () => [8080]',
    snippet,
    "console.log(JSON.stringify({ port, stored: JSON.parse(fs.readFileSync(file, 'utf8')).allocations.map((a) => a.port) }))",
  ].join('\n'))
  assert.equal(execFileSync(process.execPath, ['doc.mjs'], { cwd: proj, encoding: 'utf8' }), '{"port":8081,"stored":[8081]}\n')
  // The same snippet in headless Chromium, the package's web flavour through an import map.
  const pageHost = [
    'const saved = {}',
    'const readRegistryFile = async () => JSON.stringify({ ranges: { web: { start: 8080, end: 8089 } }, allocations: [] })',
    'const writeRegistryFile = async (text) => { saved.text = text }',
    'const portsInUse = () => [8080]',
    snippet,
    'window.result = JSON.stringify({ port, stored: JSON.parse(saved.text).allocations.map((a) => a.port) })',
  ].join('\n')
  fs.writeFileSync(path.join(proj, 'index.html'), `<!doctype html><script type="importmap">{"imports": {"atlas-ports-wasm": "/node_modules/atlas-ports-wasm/web/atlas_ports.js"}}</script><script type="module">\n${pageHost}\n</script>`)
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' }
  const server = http.createServer((req, res) => {
    const file = path.join(proj, decodeURIComponent(new URL(req.url, 'http://x').pathname))
    if (!file.startsWith(proj) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) return res.writeHead(404).end()
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' }).end(fs.readFileSync(file))
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { chromium } = createRequire(path.join(npmDir, 'package.json'))('playwright-core')
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] })
  try {
    const page = await browser.newPage()
    const errors = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(`http://127.0.0.1:${server.address().port}/index.html`)
    await page.waitForFunction(() => window.result !== undefined || undefined, null, { timeout: 15000 }).catch(() => {})
    assert.deepEqual(errors, [])
    assert.equal(await page.evaluate(() => window.result), '{"port":8081,"stored":[8081]}')
  } finally {
    await browser.close()
    server.close()
  }

  // CommonJS, and a coded error for a missing worktree.
  const cjs = execFileSync(process.execPath, ['-e', `
    const { PortRegistry } = require('atlas-ports-wasm')
    try { PortRegistry.withDefaultRanges().ensurePort('web') } catch (e) { console.log(e instanceof Error, e.code) }
  `], { cwd: proj, encoding: 'utf8' })
  assert.equal(cjs, 'true ERR_NOT_IN_WORKTREE\n')

  // The types, under tsc --strict, with the documented calls.
  fs.writeFileSync(path.join(proj, 'check.ts'), `
    import init, { PortRegistry } from 'atlas-ports-wasm'
    await init()
    const registry = PortRegistry.withDefaultRanges()
    const a: number = registry.allocatePort('api', 'w')
    const b: number = registry.ensurePort('web', 'review-GH-42', 'Frontend', { busy: [8080], now: Date.now() })
    export { a, b }
  `)
  const tsc = path.join(npmDir, 'node_modules', 'typescript', 'bin', 'tsc')
  for (const [module, resolution] of [['esnext', 'bundler'], ['node16', 'node16'], ['nodenext', 'nodenext']]) {
    const r = spawnSync(process.execPath, [tsc, '--strict', '--noEmit', '--target', 'es2022', '--module', module, '--moduleResolution', resolution, 'check.ts'], { cwd: proj, encoding: 'utf8' })
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '', resolution)
  }
})

