// The types of `require('atlas-ports/vite')` (vite.js, a CommonJS module); vite.d.mts is `import`'s.

/**
 * A Vite plugin giving the dev server the worktree's own port. Throws an `ERR_INVALID_ARGUMENT`
 * error for an unknown option.
 */
declare function atlasPorts(options?: atlasPorts.AtlasPortsViteOptions): atlasPorts.AtlasPortsVitePlugin

declare namespace atlasPorts {
  /** Where and for what the plugin ensures the port. */
  export interface AtlasPortsViteOptions {
    /**
     * The service whose port the dev server uses. Default: the one atlas-ports.toml marks
     * `vite = true` (else its `web`, else its first), else `'web'`.
     */
    service?: string
    /**
     * The service whose port `vite preview` uses (a service of its own, so that a preview can run
     * beside the dev server). Default: none, and `vite preview` keeps Vite's own port.
     */
    preview?: string
    /** The worktree id. Default: the git worktree of the Vite root. */
    worktree?: string
    /** Recorded with a new allocation. Default: `'Vite dev server'`. */
    description?: string
    /** Registry file. Default: discovered from the Vite root. */
    registry?: string
    /** Folder to discover the registry and worktree from. Default: the Vite root. */
    cwd?: string
  }

  /** The plugin: a Vite `Plugin` (typed here without depending on Vite's types). */
  export interface AtlasPortsVitePlugin {
    name: 'atlas-ports'
    /**
     * `vite` (serve): `server.port` is the worktree's port, with `strictPort`; `vite preview` with a
     * `preview` service: `preview.port`. Nothing for `vite build`, Vitest, an explicit port, or
     * outside a git worktree.
     */
    config(
      config: { root?: string; server?: { port?: number }; preview?: { port?: number } },
      env?: { command?: 'serve' | 'build'; mode?: string; isPreview?: boolean },
    ): Promise<{ server: { port: number; strictPort: true } } | { preview: { port: number; strictPort: true } } | undefined>
    configResolved(config: { logger: { info(message: string): void } }): void
  }
  const plugin: typeof atlasPorts
  export { plugin as atlasPorts, plugin as default }
}

export = atlasPorts
