// `atlas-ports/vite`: a Vite plugin that starts the dev server and `vite preview` on the
// worktree's own port for a service, with `strictPort`, so two worktrees' `vite` never collide
// and each keeps its port from run to run. The service: the one given, else the one
// atlas-ports.toml marks `vite = true` (or its `web`, or its first), else `web`.
'use strict'

const { ensurePort, projectFile } = require('./atlas-ports.js')

/**
 * @param {{ service?: string, worktree?: string, description?: string, registry?: string, cwd?: string }} [options]
 */
function atlasPorts(options = {}) {
  const { service, worktree, description = 'Vite dev server', registry, cwd } = options
  return {
    name: 'atlas-ports',
    async config(config) {
      const place = { registry, cwd: cwd ?? config.root }
      const declared = service ?? (await projectFile({ cwd: place.cwd }))?.viteService
      const port = await ensurePort(declared ?? 'web', worktree, description, place)
      return { server: { port, strictPort: true }, preview: { port, strictPort: true } }
    },
  }
}

module.exports = atlasPorts
module.exports.atlasPorts = atlasPorts
module.exports.default = atlasPorts
