// node scripts/dist-npm.mjs VERSION STAGE OUT TARGET…
// Stages the npm packages and packs them into OUT: one per platform (napi-rs's layout: the
// addon, with os/cpu/libc so npm installs only the matching one) and the main package, which
// lists them all in optionalDependencies at the same version and carries no binary itself.
//
// Windows x64 has one package, atlas-ports-win32-x64-msvc: official Node for Windows is an MSVC
// build and napi's loader looks for that name only. N-API is a C ABI, so the addon that mingw-w64
// builds (x86_64-pc-windows-gnu, linked against node.exe's exports) loads in it as well as an
// MSVC build does; it fills that package when no x86_64-pc-windows-msvc build is given (dist.sh
// on Linux). A MinGW-built Node (shlib_suffix dll.a) has no package: the loader says so.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const [version, stage, out, ...targets] = process.argv.slice(2)
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const npmDir = path.join(root, 'npm')
const main = JSON.parse(fs.readFileSync(path.join(npmDir, 'package.json'), 'utf8'))

const PLATFORMS = {
  'x86_64-unknown-linux-gnu': { name: 'linux-x64-gnu', os: 'linux', cpu: 'x64', libc: 'glibc' },
  'aarch64-unknown-linux-gnu': { name: 'linux-arm64-gnu', os: 'linux', cpu: 'arm64', libc: 'glibc' },
  'x86_64-unknown-linux-musl': { name: 'linux-x64-musl', os: 'linux', cpu: 'x64', libc: 'musl' },
  'aarch64-unknown-linux-musl': { name: 'linux-arm64-musl', os: 'linux', cpu: 'arm64', libc: 'musl' },
  'x86_64-apple-darwin': { name: 'darwin-x64', os: 'darwin', cpu: 'x64' },
  'aarch64-apple-darwin': { name: 'darwin-arm64', os: 'darwin', cpu: 'arm64' },
  'x86_64-pc-windows-gnu': { name: 'win32-x64-msvc', built: 'win32-x64-gnu', os: 'win32', cpu: 'x64' },
  'x86_64-pc-windows-msvc': { name: 'win32-x64-msvc', os: 'win32', cpu: 'x64' },
}

const pack = (dir) => {
  const [info] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir, encoding: 'utf8' }))
  console.log(`    ${info.filename} (${info.files.length} files, ${(info.size / 1024).toFixed(0)} KB)`)
}
const common = { version, license: main.license, repository: main.repository, homepage: main.homepage, bugs: main.bugs, engines: main.engines }

const optional = {}
for (const target of targets) {
  const p = PLATFORMS[target]
  if (!p) throw new Error(`dist-npm: unknown target ${target}`)
  // The MSVC build, when there is one, is the Windows package; the mingw-w64 one stands in for it.
  if (target === 'x86_64-pc-windows-gnu' && targets.includes('x86_64-pc-windows-msvc')) continue
  const dir = path.join(stage, 'npm', p.name)
  fs.mkdirSync(dir, { recursive: true })
  const binary = `${main.napi.binaryName}.${p.name}.node`
  fs.copyFileSync(path.join(stage, 'addons', `${main.napi.binaryName}.${p.built ?? p.name}.node`), path.join(dir, binary))
  fs.copyFileSync(path.join(root, 'LICENSE'), path.join(dir, 'LICENSE'))
  fs.writeFileSync(path.join(dir, 'README.md'), `# ${main.name}-${p.name}\n\nThe ${target} binary of [${main.name}](https://www.npmjs.com/package/${main.name}). Install \`${main.name}\`, not this package.\n`)
  const pkg = {
    name: `${main.name}-${p.name}`,
    ...common,
    description: `The ${p.name} binary of ${main.name} (built for ${target})`,
    os: [p.os],
    cpu: [p.cpu],
    ...(p.libc ? { libc: [p.libc] } : {}),
    main: binary,
    files: [binary],
  }
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
  pack(dir)
  optional[pkg.name] = version
}

// The main package: npm/ as it is, without a binary of its own, and with the platform packages.
const dir = path.join(stage, 'npm', 'main')
fs.mkdirSync(dir, { recursive: true })
for (const f of main.files) {
  if (f.includes('*')) continue
  fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true })
  fs.copyFileSync(path.join(npmDir, f === 'LICENSE' ? '../LICENSE' : f), path.join(dir, f))
}
const { devDependencies, scripts, ...published } = main
published.version = version
published.files = main.files.filter((f) => !f.endsWith('.node'))
published.optionalDependencies = optional
fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(published, null, 2)}\n`)
pack(dir)
