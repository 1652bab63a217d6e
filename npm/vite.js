// `atlas-ports/vite`: a Vite plugin that starts the dev server on the worktree's own port for a
// service, with `strictPort`, so two worktrees' `vite` never collide and each keeps its port from
// run to run. The service: the one given, else the one atlas-ports.toml marks `vite = true` (or
// its `web`, or its first), else `web`.
//
// It stays out of the way everywhere else: `vite build` and Vitest allocate nothing; outside a
// git worktree (a Docker build, an unpacked tarball) Vite keeps its own port; a port given
// explicitly (`vite --port 3333`, or `server.port` in the config) is kept, and the plugin says
// so. `vite preview` gets a port only when a `preview` service is named, so that it never asks
// for the dev server's port while the dev server holds it.
'use strict'

const { ensurePort, projectFile } = require('./atlas-ports.js')
const { codedError } = require('./errors.js')

const OPTIONS = ['service', 'preview', 'worktree', 'description', 'registry', 'cwd']

/** Throws `ERR_INVALID_ARGUMENT` for an option the plugin does not know or of the wrong type. */
function validate(options) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw codedError('ERR_INVALID_ARGUMENT', `atlas-ports/vite: options must be an object { ${OPTIONS.join(', ')} }, got ${Array.isArray(options) ? 'an array' : typeof options}`)
  }
  for (const [key, value] of Object.entries(options)) {
    if (!OPTIONS.includes(key)) {
      const near = OPTIONS.find((o) => distance(o, key) <= 2)
      throw codedError('ERR_INVALID_ARGUMENT', `atlas-ports/vite: unknown option '${key}'${near ? ` (did you mean '${near}'?)` : ''}; the options are ${OPTIONS.join(', ')}`)
    }
    if (value !== undefined && typeof value !== 'string') {
      throw codedError('ERR_INVALID_ARGUMENT', `atlas-ports/vite: option '${key}' must be a string, got ${value === null ? 'null' : typeof value}`)
    }
  }
  return options
}

/** Edit distance, for "did you mean". */
function distance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]
}

/**
 * @param {{ service?: string, preview?: string, worktree?: string, description?: string, registry?: string, cwd?: string }} [options]
 */
function atlasPorts(options) {
  const { service, preview, worktree, description = 'Vite dev server', registry, cwd } = validate(options)
  let note
  return {
    name: 'atlas-ports',
    async config(config, env = {}) {
      note = undefined
      // Only a dev server (and a preview with its own service) listens: `vite build`, Vitest and
      // SSR builds allocate nothing.
      if ((env.command ?? 'serve') !== 'serve' || env.mode === 'test' || process.env.VITEST) return undefined
      const isPreview = env.isPreview === true
      if (isPreview && preview === undefined) return undefined
      const key = isPreview ? 'preview' : 'server'
      const given = config[key]?.port
      if (given !== undefined && given !== null) {
        note = `atlas-ports: ${key}.port ${given} was given explicitly (--port or the config); the worktree's port is not used`
        return undefined
      }
      const place = { registry, cwd: cwd ?? config.root }
      let port
      try {
        const wanted = isPreview ? preview : (service ?? (await projectFile({ cwd: place.cwd }))?.viteService ?? 'web')
        port = await ensurePort(wanted, worktree, isPreview ? 'Vite preview' : description, place)
      } catch (e) {
        if (e?.code !== 'ERR_NOT_IN_WORKTREE' || worktree !== undefined) throw e
        note = `atlas-ports: not in a git worktree, so Vite chooses its own port (${e.message})`
        return undefined
      }
      return { [key]: { port, strictPort: true } }
    },
    configResolved(resolved) {
      if (note) resolved.logger.info(note)
    },
  }
}

module.exports = atlasPorts
module.exports.atlasPorts = atlasPorts
module.exports.default = atlasPorts
