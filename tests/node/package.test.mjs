// The package as users get it: `npm pack`, installed into a fresh project, where require,
// import, the TypeScript types and `npx atlas-ports` all work.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { npmDir, tempDir } from './support.mjs'

const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

test('npm pack installs into a fresh project: require, import, types and npx work', () => {
  const tmp = tempDir()
  const packed = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', tmp], npmDir))[0]
  const files = packed.files.map((f) => f.path).sort()
  assert.deepEqual(files, ['atlas-ports.linux-x64-gnu.node', 'bin/atlas-ports.js', 'index.d.ts', 'index.js', 'package.json'])

  const proj = path.join(tmp, 'proj')
  fs.mkdirSync(proj)
  fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'proj', version: '1.0.0', private: true }))
  sh('npm', ['install', path.join(tmp, packed.filename), '--no-audit', '--no-fund', '--prefer-offline'], proj)
  const registry = path.join(tmp, 'reg', 'ports.json')

  // CommonJS
  const cjs = sh(process.execPath, ['-e', `
    const ap = require('atlas-ports')
    ap.initRegistry({ registry: ${JSON.stringify(registry)} })
    process.stdout.write(String(ap.ensurePort('testing', 'pkg', 'from require', { registry: ${JSON.stringify(registry)} })))
  `], proj)
  assert.match(cjs, /^90\d\d$/)

  // ESM, named imports and the default export
  fs.writeFileSync(path.join(proj, 'check.mjs'), `
    import atlas, { ensurePort, listAllocatedPorts } from 'atlas-ports'
    const registry = ${JSON.stringify(registry)}
    const port = ensurePort('testing', 'pkg', 'from import', { registry })
    console.log(port === atlas.ensurePort('testing', 'pkg', '', { registry }), listAllocatedPorts('pkg', { registry })[0].description)
  `)
  assert.equal(sh(process.execPath, ['check.mjs'], proj), 'true from require\n')

  // TypeScript: the declarations are precise enough to reject a misuse.
  fs.writeFileSync(path.join(proj, 'check.ts'), `
    import { allocatePort, listAllocatedPorts, healthCheck, type Allocation, type HealthReport } from 'atlas-ports'
    const port: number = allocatePort('web', 'w', 'dev server', { registry: '/tmp/ports.json', cwd: '.' })
    const mine: Allocation[] = listAllocatedPorts()
    const when: Promise<HealthReport> = healthCheck('w')
    const healthy: number = mine.filter((a) => a.healthStatus === 'healthy').length + port
    // @ts-expect-error: a port is a number, not a string
    const wrong: string = allocatePort('web')
    // @ts-expect-error: options have no such member
    allocatePort('web', 'w', '', { registy: 'typo' })
    export { when, healthy, wrong }
  `)
  fs.writeFileSync(path.join(proj, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: [] },
    files: ['check.ts'],
  }))
  sh(process.execPath, [path.join(npmDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', proj], proj)

  // npx runs the same CLI
  const version = JSON.parse(fs.readFileSync(path.join(npmDir, 'package.json'), 'utf8')).version
  assert.equal(sh('npx', ['--no-install', 'atlas-ports', '--version'], proj), `atlas-ports ${version}\n`)
  assert.equal(sh('npx', ['--no-install', 'atlas-ports', 'list', '--worktree', 'pkg', '--registry', registry], proj), 'Port 9000 (testing): from require\n')
})
