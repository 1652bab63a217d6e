// `npx atlas-ports …` (the npm package's bin, run by the addon) is the very same program as
// the native binary: same output, same exit statuses.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { freeBlock, nativeBin, npmBin, registryWith } from './support.mjs'

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
