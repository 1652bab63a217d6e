// The documented examples (README.md, docs/*.md, npm/README.md) against the program, so that
// they cannot drift: every `atlas-ports …` command of a shell block or an npm script is accepted
// by the real binary's parser (its flags, subcommands and values), and every JavaScript block
// is valid as the module kind it is written as (no top-level await in CommonJS code, no
// require() in an ES module).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { nativeBin, root, tempDir } from './support.mjs'

const DOCS = ['README.md', 'npm/README.md', ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]

/** `{ file, line, lang, text }` for every fenced block. */
function blocks() {
  const found = []
  for (const file of DOCS) {
    const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n')
    for (let i = 0; i < lines.length; i++) {
      const open = lines[i].match(/^```(\w*)\s*$/)
      if (!open) continue
      const start = i
      const body = []
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) body.push(lines[i])
      found.push({ file, line: start + 1, lang: open[1], text: body.join('\n') })
    }
  }
  return found
}

/** Splits a command line into words as a shell would (quotes, no expansion). */
function words(line) {
  const out = []
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g
  for (const m of line.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3])
  return out
}

/** The `atlas-ports …` commands of a shell line: comments and the rest of a pipeline dropped. */
function commandsOf(line) {
  const code = line.replace(/(^|\s)#(\s.*)?$/, '').trim()
  return code
    .split(/\s*(?:&&|\|\||;|\|)\s*/)
    .map((part) => part.replace(/\s+\d?>{1,2}\s*\S+/g, '').replace(/^(?:\S+=\S+\s+)*/, '').trim())
    .filter((part) => /^(npx (--no-install )?)?atlas-ports(\s|$)/.test(part))
    .map((part) => words(part.replace(/^npx (--no-install )?/, '')).slice(1))
}

const scratch = tempDir('atlas-docs-')

/** Parses `args` with the real binary: `--help` after them makes it stop once they parsed. */
function parses(args) {
  const dash = args.indexOf('--')
  const withHelp = dash === -1 ? [...args, '--help'] : [...args.slice(0, dash), '--help', ...args.slice(dash)]
  return spawnSync(nativeBin, withHelp, { encoding: 'utf8', cwd: scratch, env: { ...process.env, ATLAS_PORTS_REGISTRY: path.join(scratch, 'ports.json') } })
}

test('every documented atlas-ports command is accepted by the program', () => {
  const failures = []
  let checked = 0
  const check = (where, args) => {
    // A synopsis ([--worktree W], <PORT>, …) is not a command to run.
    if (args.some((a) => /^\[|^<|…|\.\.\./.test(a))) return
    checked++
    const r = parses(args)
    if (r.status !== 0) failures.push(`${where}: atlas-ports ${args.join(' ')}\n    ${(r.stderr || r.stdout).trim().split('\n')[0]}`)
  }
  for (const b of blocks()) {
    if (['sh', 'bash', 'console', 'shell'].includes(b.lang)) {
      // In a console block only the `$ ` lines are commands; the rest is their output.
      b.text.split('\n').forEach((line, i) => {
        if (b.lang === 'console' && !line.startsWith('$ ')) return
        for (const args of commandsOf(line.replace(/^\$ /, ''))) check(`${b.file}:${b.line + 1 + i}`, args)
      })
    } else if (b.lang === 'json' && b.text.includes('"scripts"')) {
      const scripts = JSON.parse(b.text.includes('{ "scripts"') || b.text.trim().startsWith('{') ? b.text : `{${b.text}}`).scripts ?? {}
      for (const [name, script] of Object.entries(scripts)) {
        for (const args of commandsOf(script)) check(`${b.file}:${b.line} (script ${name})`, args)
      }
    }
  }
  console.log(`# ${checked} documented commands checked`)
  assert.ok(checked > 30, `only ${checked} commands found in the docs`)
  assert.deepEqual(failures, [], `documented commands the program refuses:\n${failures.join('\n')}`)
})

test('every documented JavaScript block is valid as the module kind it is written as', () => {
  const dir = tempDir('atlas-docs-js-')
  const failures = []
  let checked = 0
  for (const b of blocks()) {
    if (!['js', 'javascript', 'mjs', 'cjs'].includes(b.lang)) continue
    const esm = /^\s*(import|export)\s/m.test(b.text)
    const file = path.join(dir, `block${checked++}.${esm ? 'mjs' : 'cjs'}`)
    fs.writeFileSync(file, b.text)
    const r = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' })
    if (r.status !== 0) failures.push(`${b.file}:${b.line} (${esm ? 'ES module' : 'CommonJS'}): ${r.stderr.split('\n').find((l) => /Error/.test(l))}`)
    // require() parses in an ES module, but is not defined there.
    if (esm && /\brequire\(/.test(b.text.replace(/\/\/.*$/gm, ''))) failures.push(`${b.file}:${b.line}: require() in an ES module`)
  }
  assert.ok(checked > 5, `only ${checked} JavaScript blocks found`)
  assert.deepEqual(failures, [], failures.join('\n'))
})
