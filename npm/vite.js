// `atlas-ports/vite`: a Vite plugin that starts the dev server and `vite preview` on the
// worktree's own port for a service (default `web`), with `strictPort`, so two worktrees'
// `vite` never collide and each keeps its port from run to run.
'use strict'

const { ensurePort } = require('./atlas-ports.js')

/**
 * @param {{ service?: string, worktree?: string, description?: string, registry?: string, cwd?: string }} [options]
 */
function atlasPorts(options = {}) {
  const { service = 'web', worktree, description = 'Vite dev server', registry, cwd } = options
  return {
    name: 'atlas-ports',
    async config(config) {
      const place = { registry, cwd: cwd ?? config.root }
      const port = await ensurePort(service, worktree, description, place)
      return { server: { port, strictPort: true }, preview: { port, strictPort: true } }
    },
  }
}

module.exports = atlasPorts
module.exports.atlasPorts = atlasPorts
module.exports.default = atlasPorts
