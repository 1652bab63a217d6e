// Every documented way to import the package type-checks with `tsc --strict`, in ES module and
// CommonJS files (TypeScript and checked JavaScript), under each moduleResolution a project may
// use: node16, nodenext and bundler. Also: the Vite plugin fits real Vite's `defineConfig`.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { installedPackage, npmDir, tempDir } from './support.mjs'

const tsc = path.join(npmDir, 'node_modules', 'typescript', 'bin', 'tsc')

// The import forms of README.md, docs/node.md and npm/README.md, as ES module code.
const ESM = `
import atlasPorts from 'atlas-ports/vite'
import { atlasPorts as named } from 'atlas-ports/vite'
import type { AtlasPortsViteOptions } from 'atlas-ports/vite'
import atlas, { ensurePort, ensurePortSync, isAtlasPortsError, type AtlasPortsError } from 'atlas-ports'
import { start, startSync, stop, stopSync, down, pruneDetails, getStatusSync, type StartReport, type StopReport } from 'atlas-ports'
import * as all from 'atlas-ports'
const options: AtlasPortsViteOptions = { service: 'web', preview: 'web-preview' }
const plugins = [atlasPorts(), named(options)]
const port: Promise<number> = ensurePort('web')
const now: number = ensurePortSync('web') + atlas.ensurePortSync('api') + all.ensurePortSync('db')
const target: string = atlas.__napiBindingTarget + all.__napiBindingTarget
const guard = (e: unknown): string | undefined => (isAtlasPortsError(e) ? e.code : undefined)
// @ts-expect-error: not an option of the plugin
atlasPorts({ servise: 'api' })
// Servers: start and stop this worktree's declared commands; down and prune stop them too.
const started: Promise<StartReport> = start({ service: 'web', timeout: 30_000 })
const state: 'started' | 'already_running' | 'not_ready' | 'exited' = startSync().services[0].state
const startedPid: number | undefined = startSync({ cwd: '.' }).services[0].pid
const stopped: Promise<StopReport> = stop({ service: 'web', grace: 1000 })
const proof: 'started' | 'runs_inside' = stopSync().stopped[0].proof
const leftAlone: { pid?: number, cwd?: string, reason: string } = stopSync().leftAlone[0]
const byUs: boolean | undefined = getStatusSync().ranges[0].allocations[0].startedByAtlasPorts
const downServers: Promise<number | undefined> = down({ grace: 0 }).then((d) => d.servers?.leftAlone.length)
const pruned: Promise<string | undefined> = pruneDetails({ dryRun: true, grace: 0 }).then((p) => p.servers[0].stopped[0].signal)
// @ts-expect-error: start and stop work for this worktree only
stop({ worktree: 'other' })
// @ts-expect-error: a state is one of four
const badState: StartReport['services'][number]['state'] = 'running'
// @ts-expect-error: grace is milliseconds, a number
stopSync({ grace: '5s' })
export { plugins, port, now, target, guard, type AtlasPortsError }
// Named URLs beside the ports while a proxy runs; absent otherwise.
const namedUrl: string | undefined = atlas.worktreePortsSync().urls?.web
const upUrl: string | undefined = atlas.upSync().services[0].url
// @ts-expect-error: urls may be absent (no proxy running)
const mustCheck: string = atlas.worktreePortsSync().urls.web
export { started, state, startedPid, stopped, proof, leftAlone, byUs, downServers, pruned, badState, namedUrl, upUrl, mustCheck }
`
// The same as CommonJS TypeScript (import … = require).
const CTS = `
import atlasPorts = require('atlas-ports/vite')
import atlas = require('atlas-ports')
const plugins = [atlasPorts(), atlasPorts.atlasPorts({ service: 'web' }), atlasPorts.default()]
const now: number = atlas.ensurePortSync('web')
const guard = (e: unknown): string | undefined => (atlas.isAtlasPortsError(e) ? e.code : undefined)
const alone: number = atlas.stopSync({ service: 'web', grace: 0 }).leftAlone.length + atlas.startSync().services.length
// @ts-expect-error: not an option of the plugin
atlasPorts({ servise: 'api' })
export { plugins, now, guard, alone }
`
// Checked JavaScript, as vite.config.js and a CommonJS script are written.
const MJS = `
import atlasPorts from 'atlas-ports/vite'
import { ensurePortSync } from 'atlas-ports'
/** @type {number} */
const now = ensurePortSync('web')
export default { plugins: [atlasPorts()], now }
`
const CJS = `
const atlasPorts = require('atlas-ports/vite')
const { ensurePort, ensurePortSync, start, stop } = require('atlas-ports')
/** @type {number} */
const now = ensurePortSync('web')
ensurePort('api').then((/** @type {number} */ port) => port + now)
start().then((r) => stop({ grace: 1000 }).then((s) => r.services.length + s.stopped.length))
module.exports = { plugins: [atlasPorts({ service: 'web' })] }
`
const VITE_CONFIG = `
import { defineConfig } from 'vite'
import atlasPorts from 'atlas-ports/vite'
export default defineConfig({ plugins: [atlasPorts({ service: 'web', preview: 'web-preview' })] })
`

function project(files, compilerOptions) {
  const { dir: installed } = installedPackage()
  const dir = tempDir('atlas-types-')
  fs.symlinkSync(path.join(installed, 'node_modules'), path.join(dir, 'node_modules'))
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text)
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'es2022', allowJs: true, checkJs: true, skipLibCheck: false, types: [], ...compilerOptions },
    files: Object.keys(files).filter((f) => f !== 'package.json'),
  }))
  const run = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' })
  return `${run.stdout}${run.stderr}`.trim()
}

for (const resolution of ['node16', 'nodenext']) {
  test(`every import form type-checks under moduleResolution ${resolution}, in ESM and CommonJS files`, () => {
    const out = project(
      { 'package.json': '{"type": "commonjs"}', 'esm.mts': ESM, 'cjs.cts': CTS, 'config.mjs': MJS, 'script.cjs': CJS },
      { module: resolution, moduleResolution: resolution },
    )
    assert.equal(out, '')
  })
}

test('every import form type-checks under moduleResolution bundler, and the plugin fits Vite\'s defineConfig', () => {
  fs.symlinkSync(path.join(npmDir, 'node_modules', 'vite'), path.join(installedPackage().dir, 'node_modules', 'vite'), 'dir')
  const out = project(
    { 'package.json': '{"type": "module"}', 'esm.ts': ESM, 'config.mjs': MJS, 'vite.config.ts': VITE_CONFIG },
    { module: 'esnext', moduleResolution: 'bundler', skipLibCheck: true },
  )
  assert.equal(out, '')
})
