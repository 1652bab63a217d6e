// node scripts/dist-wasm.mjs VERSION STAGE OUT
// The WebAssembly package, publishable on its own: the nodejs flavour for require() and
// import under Node, the web flavour (an ES module) for bundlers and browsers, one .wasm for
// both (wasm-bindgen makes the same file for each: the nodejs flavour reads the web one's),
// the generated types, README and LICENSE.
//
// Under Node, `import init, { PortRegistry } from 'atlas-ports-wasm'; await init()` runs as in a
// browser: the default export is an `init` that has nothing left to do.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const [version, stage, out] = process.argv.slice(2)
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const main = JSON.parse(fs.readFileSync(path.join(root, 'npm', 'package.json'), 'utf8'))
const dir = path.join(stage, 'wasm')
fs.rmSync(dir, { recursive: true, force: true })
for (const flavour of ['nodejs', 'web']) {
  const from = path.join(root, 'target', 'wasm', flavour)
  fs.mkdirSync(path.join(dir, flavour), { recursive: true })
  for (const f of fs.readdirSync(from)) {
    if (f === 'package.json' || (flavour === 'nodejs' && f.endsWith('_bg.wasm'))) continue
    fs.copyFileSync(path.join(from, f), path.join(dir, flavour, f))
  }
}
if (!fs.readFileSync(path.join(root, 'target', 'wasm', 'nodejs', 'atlas_ports_bg.wasm')).equals(fs.readFileSync(path.join(dir, 'web', 'atlas_ports_bg.wasm')))) {
  throw new Error('the nodejs and web flavours have different .wasm files: ship both')
}
const loader = path.join(dir, 'nodejs', 'atlas_ports.js')
const wasmPathLine = 'const wasmPath = `${__dirname}/atlas_ports_bg.wasm`;'
const js = fs.readFileSync(loader, 'utf8')
if (!js.includes(wasmPathLine)) throw new Error(`the nodejs flavour no longer says ${wasmPathLine}`)
fs.writeFileSync(loader, js.replace(wasmPathLine, "const wasmPath = require('path').join(__dirname, '..', 'web', 'atlas_ports_bg.wasm');"))
// ES modules importing the CommonJS flavour under Node get named exports, and the browser's
// `await init()` (the module is compiled when loaded: nothing is left to wait for).
fs.writeFileSync(path.join(dir, 'nodejs', 'index.mjs'), `import wasm from './atlas_ports.js'

export const { PortRegistry } = wasm
export default async function init() {
  return wasm
}
export function initSync() {
  return wasm
}
`)
fs.writeFileSync(path.join(dir, 'nodejs', 'index.d.mts'), `export * from './atlas_ports.js'
/** Under Node the module is ready when imported: resolves at once (kept for code shared with browsers). */
export default function init(moduleOrPath?: unknown): Promise<unknown>
/** Under Node the module is ready when imported. */
export function initSync(module?: unknown): unknown
`)
fs.copyFileSync(path.join(root, 'LICENSE'), path.join(dir, 'LICENSE'))
fs.writeFileSync(path.join(dir, 'README.md'), `# atlas-ports-wasm

The registry engine of [atlas-ports](https://www.npmjs.com/package/atlas-ports) in WebAssembly, for
hosts where a native addon cannot load: browsers, WebContainers, editor extensions. The host holds
the registry as JSON text and passes in the ports busy on its machine and the time; every rule and
error code is the native one.

\`\`\`js
import init, { PortRegistry } from 'atlas-ports-wasm'     // browsers, bundlers and Node
await init()
const registry = PortRegistry.withDefaultRanges()         // or new PortRegistry(text)
const port = registry.ensurePort('web', 'review-GH-42', 'Frontend', { busy: [8080] })
\`\`\`
`)
const pkg = {
  name: 'atlas-ports-wasm',
  version,
  description: 'The atlas-ports registry engine in WebAssembly: per-worktree port allocation for browsers, WebContainers and editor extensions',
  license: main.license,
  repository: main.repository,
  homepage: main.homepage,
  bugs: main.bugs,
  keywords: ['ports', 'git', 'worktree', 'wasm'],
  main: './nodejs/atlas_ports.js',
  module: './web/atlas_ports.js',
  types: './web/atlas_ports.d.ts',
  exports: {
    '.': {
      node: {
        import: { types: './nodejs/index.d.mts', default: './nodejs/index.mjs' },
        require: { types: './nodejs/atlas_ports.d.ts', default: './nodejs/atlas_ports.js' },
      },
      types: './web/atlas_ports.d.ts',
      default: './web/atlas_ports.js',
    },
    './package.json': './package.json',
  },
  files: ['nodejs', 'web', 'README.md', 'LICENSE'],
  sideEffects: false,
}
fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
const [info] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir, encoding: 'utf8' }))
const wasmSize = fs.statSync(path.join(dir, 'web', 'atlas_ports_bg.wasm')).size
console.log(`    ${info.filename} (${info.files.length} files; the .wasm is ${(wasmSize / 1024).toFixed(0)} KB)`)
if (wasmSize >= 300 * 1024) throw new Error(`the .wasm is ${wasmSize} bytes: over 300 KB`)
