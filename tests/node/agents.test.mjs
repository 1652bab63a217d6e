// Agents as users: `atlas-ports mcp` driven over stdio by the official TypeScript MCP client,
// from two worktrees of one repository at once, and `waitForPort` against real servers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { createRequire } from 'node:module'
import { atlas, addWorktree, freeBlock, gitRepo, nativeBin, npmBin, npmDir, tempDir } from './support.mjs'

// The official TypeScript SDK, a devDependency of the npm package.
const sdk = createRequire(path.join(npmDir, 'package.json'))
const { Client } = sdk('@modelcontextprotocol/sdk/client/index.js')
const { StdioClientTransport } = sdk('@modelcontextprotocol/sdk/client/stdio.js')
const { McpError, ErrorCode } = sdk('@modelcontextprotocol/sdk/types.js')

const TOOLS = ['conflicts', 'down', 'ensure_ports', 'get_ports', 'health', 'prune', 'release_ports', 'resolve_url', 'status', 'up', 'wait_ready']

/** A repository whose shared registry has web and api ranges, with worktrees wt-a and wt-b. */
async function repoWithTwoWorktrees() {
  const main = gitRepo()
  const base = await freeBlock(8)
  const dir = path.join(main, '.atlas', 'worktrees')
  fs.mkdirSync(dir, { recursive: true })
  const ranges = { web: { start: base, end: base + 3, description: 'web' }, api: { start: base + 4, end: base + 7, description: 'api' } }
  const metadata = { version: '1.0.0', last_updated: '', total_allocations: 0, schema_version: 1 }
  const registry = path.join(dir, 'ports.json')
  fs.writeFileSync(registry, JSON.stringify({ ranges, allocations: [], metadata }, null, 2))
  return { main, registry, a: addWorktree(main, 'wt-a'), b: addWorktree(main, 'wt-b') }
}

/** An MCP client connected to `atlas-ports mcp` started in `cwd` (by default the native program). */
async function agentIn(cwd, command = nativeBin, args = ['mcp']) {
  const env = { ...process.env }
  delete env.ATLAS_PORTS_REGISTRY
  const transport = new StdioClientTransport({ command, args, cwd, env, stderr: 'pipe' })
  const client = new Client({ name: 'atlas-ports-test-agent', version: '1.0.0' })
  await client.connect(transport)
  return client
}

/** An HTTP server on 127.0.0.1:port answering `status`, started after `delay` ms; resolves once listening. */
function serve(port, status, delay = 0) {
  const server = http.createServer((req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' })
    res.end('hi')
  })
  const listening = new Promise((resolve) => setTimeout(() => server.listen(port, '127.0.0.1', resolve), delay))
  return { server, listening, close: () => new Promise((r) => server.close(r)) }
}

const call = (client, name, args = {}) => client.callTool({ name, arguments: args })

test('two agents in two worktrees: tools, distinct ports, URLs, readiness, and no reach into the other worktree', async (t) => {
  const { registry, a, b } = await repoWithTwoWorktrees()
  const [agentA, agentB] = await Promise.all([agentIn(a), agentIn(b)])
  t.after(() => Promise.all([agentA.close(), agentB.close()]))

  const { tools } = await agentA.listTools()
  assert.deepEqual(tools.map((x) => x.name).sort(), TOOLS)
  for (const tool of tools) {
    assert.equal(tool.inputSchema.type, 'object', tool.name)
    assert.ok(tool.description.length > 40, tool.name)
  }
  const release = tools.find((x) => x.name === 'release_ports')
  assert.match(release.description, /never changes another worktree's allocations/)
  assert.equal(agentA.getServerVersion().name, 'atlas-ports')

  // Both ask at once; each gets its own ports, the same on every call.
  const [ea, eb] = await Promise.all([
    call(agentA, 'ensure_ports', { services: ['web', 'api'] }),
    call(agentB, 'ensure_ports', { services: ['web', 'api'], description: 'dev server' }),
  ])
  assert.equal(ea.isError, false)
  assert.equal(ea.structuredContent.worktree, 'wt-a')
  assert.equal(eb.structuredContent.worktree, 'wt-b')
  const pa = ea.structuredContent.ports
  const pb = eb.structuredContent.ports
  assert.deepEqual(Object.keys(pa), ['web', 'api'])
  assert.equal(new Set([pa.web, pa.api, pb.web, pb.api]).size, 4, 'four distinct ports')
  assert.equal(ea.structuredContent.details[0].allocation.port, pa.web, 'details have ensure --format json\'s shape')
  assert.deepEqual((await call(agentA, 'ensure_ports', { services: ['web'] })).structuredContent.ports, { web: pa.web })

  const ports = (await call(agentA, 'get_ports')).structuredContent
  assert.deepEqual(ports.ports, pa)
  assert.deepEqual(ports.variables, { PORT_WEB: pa.web, PORT_API: pa.api })
  assert.equal(ports.env, `PORT_API=${pa.api}\nPORT_WEB=${pa.web}\n`, 'as atlas-ports env prints them')
  assert.deepEqual((await call(agentA, 'get_ports', { worktree: 'wt-b' })).structuredContent.ports, pb, 'another worktree, read only')

  // URLs, here and in the other worktree.
  const own = (await call(agentA, 'resolve_url', { service: 'web' })).structuredContent
  assert.equal(own.url, `http://localhost:${pa.web}/`)
  assert.equal(own.named_host, 'web.wt-a.localhost')
  assert.equal(own.named_url, 'http://web.wt-a.localhost:<dashboard port>/')
  const other = (await call(agentA, 'resolve_url', { service: 'api', worktree: 'wt-b' })).structuredContent
  assert.equal(other.url, `http://localhost:${pb.api}/`)
  assert.equal(other.named_host, 'api.wt-b.localhost')

  // A server that starts late is waited for; one that answers 503 is not ready.
  const late = serve(pa.web, 200, 700)
  const unwell = serve(pb.web, 503)
  t.after(() => Promise.all([late.close(), unwell.close()]))
  await unwell.listening
  const started = Date.now()
  const ready = (await call(agentA, 'wait_ready', { service: 'web', timeout_ms: 20000 })).structuredContent
  assert.ok(Date.now() - started >= 600, 'waited for the late server')
  assert.equal(ready.ready, true)
  assert.equal(ready.port, pa.web)
  assert.equal(ready.reason, 'HTTP 200 from GET /')
  const notReady = await call(agentB, 'wait_ready', { service: 'web', timeout_ms: 800 })
  assert.equal(notReady.isError, false, 'not ready is an answer')
  assert.equal(notReady.structuredContent.ready, false)
  assert.equal(notReady.structuredContent.reason, 'HTTP 503 from GET /')
  assert.ok(notReady.structuredContent.waited_ms >= 800)
  const never = (await call(agentA, 'wait_ready', { service: 'api', timeout_ms: 300 })).structuredContent
  assert.deepEqual([never.ready, never.reason], [false, `nothing listens on port ${pa.api}`])

  // Status: this worktree's, and every worktree's (read only).
  const status = (await call(agentA, 'status')).structuredContent
  assert.equal(status.worktree, 'wt-a')
  const all = (await call(agentA, 'status', { all: true })).structuredContent
  assert.ok(JSON.stringify(all).includes('wt-b'))
  assert.equal(typeof (await call(agentA, 'conflicts')).structuredContent, 'object')

  // A release aimed at the other worktree is refused, by name or by port; nothing changes.
  const before = fs.readFileSync(registry)
  for (const args of [{ worktree: 'wt-b' }, { port: pb.web }, { worktree: 'wt-b', services: ['web'] }]) {
    const refused = await call(agentA, 'release_ports', args)
    assert.equal(refused.isError, true, JSON.stringify(args))
    assert.equal(refused.structuredContent.code, 'ERR_INVALID_ARGUMENT')
    assert.match(refused.content[0].text, /^ERR_INVALID_ARGUMENT: .*never releases or changes another worktree's allocations/)
  }
  assert.deepEqual(fs.readFileSync(registry), before, 'registry bytes unchanged')

  // Its own release: one service, then the rest.
  const one = (await call(agentA, 'release_ports', { services: ['api'] })).structuredContent
  assert.deepEqual(one.released.map((x) => [x.worktree, x.port]), [['wt-a', pa.api]])
  const rest = (await call(agentA, 'release_ports')).structuredContent
  assert.deepEqual(rest.released.map((x) => [x.worktree, x.port]), [['wt-a', pa.web]])
  const left = JSON.parse(fs.readFileSync(registry, 'utf8')).allocations
  assert.deepEqual(left.map((x) => x.worktree), ['wt-b', 'wt-b'], "wt-b's ports stay")
})

test('bad input gets protocol-correct errors, the server stays up and the registry is unchanged', async (t) => {
  const { registry, a } = await repoWithTwoWorktrees()
  const agent = await agentIn(a)
  t.after(() => agent.close())
  await call(agent, 'ensure_ports', { services: ['web'] })
  const before = fs.readFileSync(registry)

  const protocolError = async (name, args, pattern) => {
    const e = await call(agent, name, args).then(() => null, (err) => err)
    assert.ok(e instanceof McpError, `${name} ${JSON.stringify(args)}: ${e}`)
    assert.equal(e.code, ErrorCode.InvalidParams)
    assert.match(e.message, pattern)
  }
  await protocolError('launch_missiles', {}, /unknown tool 'launch_missiles'/)
  await protocolError('ensure_ports', { services: 'web' }, /invalid type: string "web", expected a sequence/)
  await protocolError('ensure_ports', { services: [] }, /services is empty/)
  await protocolError('wait_ready', { service: 'web', timeout_ms: 'soon' }, /invalid type/)
  await protocolError('release_ports', { port: 70000 }, /port 70000 is not from 1 to 65535/)
  await protocolError('release_ports', { port: 80.5 }, /invalid/)
  await protocolError('status', { everything: true }, /unknown field `everything`/)

  const unknown = await call(agent, 'ensure_ports', { services: ['api', 'nope'] })
  assert.equal(unknown.isError, true)
  assert.equal(unknown.structuredContent.code, 'ERR_UNKNOWN_SERVICE')
  assert.match(unknown.content[0].text, /^ERR_UNKNOWN_SERVICE: unknown service 'nope'/)
  const unknownWait = await call(agent, 'wait_ready', { service: 'nope', timeout_ms: 100 })
  assert.equal(unknownWait.structuredContent.code, 'ERR_UNKNOWN_SERVICE')
  const noPort = await call(agent, 'resolve_url', { service: 'api' })
  assert.equal(noPort.structuredContent.code, 'ERR_INVALID_ARGUMENT')

  assert.deepEqual(fs.readFileSync(registry), before, 'registry bytes unchanged')
  const { tools } = await agent.listTools()
  assert.equal(tools.length, TOOLS.length, 'the server is still up')
  assert.equal((await call(agent, 'get_ports')).isError, false)
})

test("the npm package's bin serves the same tools (npx atlas-ports mcp)", async (t) => {
  const { a, b } = await repoWithTwoWorktrees()
  const agent = await agentIn(a, process.execPath, [npmBin, 'mcp'])
  t.after(() => agent.close())
  const { tools } = await agent.listTools()
  assert.deepEqual(tools.map((x) => x.name).sort(), TOOLS)
  const web = (await call(agent, 'ensure_ports', { services: ['web'] })).structuredContent.ports.web
  assert.equal(await atlas.ensurePort('web', { cwd: a }), web, 'the same registry as the API')
  assert.notEqual(await atlas.ensurePort('web', { cwd: b }), web)
})

test('prune is a dry run unless asked; up and down answer as the CLI does', async (t) => {
  const { a } = await repoWithTwoWorktrees()
  const agent = await agentIn(a)
  t.after(() => agent.close())
  const dry = (await call(agent, 'prune')).structuredContent
  assert.deepEqual(dry, { dry_run: true, released: [], servers: [] }, 'the shape of `prune --format json`: no server of a gone worktree here')
  const noProject = await call(agent, 'up')
  assert.equal(noProject.structuredContent.code, 'ERR_NO_PROJECT_FILE')
  fs.writeFileSync(path.join(a, 'atlas-ports.toml'), '[services.web]\n')
  const up = (await call(agent, 'up')).structuredContent
  assert.equal(up.worktree, 'wt-a')
  assert.equal(up.services[0].variable, 'PORT_WEB')
  assert.ok(fs.existsSync(path.join(a, '.env.ports')))
  const down = (await call(agent, 'down')).structuredContent
  assert.equal(down.released.length, 1)
  assert.ok(!fs.existsSync(path.join(a, '.env.ports')))
})

test('waitForPort: a late server, none, a 503, an abort, and bad arguments', async (t) => {
  const { main, registry, a } = await repoWithTwoWorktrees()
  const web = await atlas.ensurePort('web', { cwd: a })
  const before = fs.readFileSync(registry)

  const late = serve(web, 200, 600)
  t.after(() => late.close())
  const started = Date.now()
  const look = await atlas.waitForPort('web', { cwd: a, timeout: 20000 })
  assert.ok(Date.now() - started >= 500)
  assert.deepEqual({ ...look, waitedMs: 0 }, { worktree: 'wt-a', service: 'web', port: web, ready: true, reason: 'HTTP 200 from GET /', waitedMs: 0 })
  await late.close()

  const none = await atlas.waitForPort('web', { cwd: a, timeout: 400 }).then(() => null, (e) => e)
  assert.equal(none.code, 'ERR_NOT_READY')
  assert.match(none.message, new RegExp(`^web of worktree 'wt-a' is not ready after \\d+ ms: nothing listens on port ${web}$`))
  assert.equal(none.readiness.ready, false)

  const unwell = serve(web, 503)
  await unwell.listening
  t.after(() => unwell.close())
  const e503 = await atlas.waitForPort('web', { cwd: a, timeout: 500 }).then(() => null, (e) => e)
  assert.equal(e503.code, 'ERR_NOT_READY')
  assert.match(e503.message, /HTTP 503 from GET \/$/)

  const controller = new AbortController()
  setTimeout(() => controller.abort(new Error('enough')), 300)
  const aborted = await atlas.waitForPort('web', { cwd: a, timeout: 20000, signal: controller.signal }).then(() => null, (e) => e)
  assert.equal(aborted.name, 'AbortError')
  assert.equal(aborted.code, 'ABORT_ERR')
  assert.equal(aborted.cause.message, 'enough')
  const already = await atlas.waitForPort('web', { cwd: a, signal: AbortSignal.abort() }).then(() => null, (e) => e)
  assert.equal(already.code, 'ABORT_ERR')

  // Another worktree's service by name, from the main worktree; a look at once with timeout 0.
  const other = await atlas.waitForPort('web', { cwd: main, worktree: 'wt-a', timeout: 0 }).then(() => null, (e) => e)
  assert.equal(other.readiness.worktree, 'wt-a')
  assert.equal((await atlas.waitForPort('nope', { cwd: a }).then(() => null, (e) => e)).code, 'ERR_UNKNOWN_SERVICE')
  for (const bad of [[42], ['web', { timeout: -1 }], ['web', { timeout: '60s' }], ['web', { signal: {} }], ['web', { wait: 1 }], ['web', 'wt-a']]) {
    const e = await atlas.waitForPort(...bad).then(() => null, (err) => err)
    assert.equal(e?.code, 'ERR_INVALID_ARGUMENT', JSON.stringify(bad))
  }
  assert.deepEqual(fs.readFileSync(registry), before, 'waiting writes nothing')

  const esm = await import(path.join(npmDir, 'atlas-ports.mjs'))
  assert.equal(esm.waitForPort, atlas.waitForPort)
  assert.equal(typeof esm.readinessSync, 'function')
  assert.equal(atlas.readinessSync('web', null, { cwd: a }).port, web)
})

test('waitForPort and readiness are typed, in the package as TypeScript sees it', () => {
  const proj = tempDir('atlas-ts-')
  fs.mkdirSync(path.join(proj, 'node_modules'))
  fs.symlinkSync(npmDir, path.join(proj, 'node_modules', 'atlas-ports'), 'junction')
  fs.writeFileSync(path.join(proj, 'check.ts'), `
    import { waitForPort, readinessSync, type Readiness, type AtlasPortsError } from 'atlas-ports'
    const ready: Promise<Readiness> = waitForPort('web', { timeout: 60_000, signal: AbortSignal.timeout(90_000), worktree: 'w' })
    const port: number | undefined = readinessSync('web').port
    const codes: AtlasPortsError['code'][] = ['ERR_NOT_READY', 'ABORT_ERR']
    // @ts-expect-error: the timeout is a number of milliseconds
    waitForPort('web', { timeout: '60s' })
    // @ts-expect-error: no such option
    waitForPort('web', { interval: 5 })
    export { ready, port, codes }
  `)
  fs.writeFileSync(path.join(proj, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: [] },
    files: ['check.ts'],
  }))
  execFileSync(process.execPath, [path.join(npmDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', proj], { cwd: proj, stdio: 'pipe' })
})
