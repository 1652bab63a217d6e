/** Where and for what the plugin ensures the port. */
export interface AtlasPortsViteOptions {
  /**
   * The service whose port the dev server and `vite preview` use. Default: the one
   * atlas-ports.toml marks `vite = true` (else its `web`, else its first), else `'web'`.
   */
  service?: string
  /** The worktree id. Default: the git worktree of the Vite root. */
  worktree?: string
  /** Recorded with a new allocation. Default: `'Vite dev server'`. */
  description?: string
  /** Registry file. Default: discovered from the Vite root. */
  registry?: string
  /** Folder to discover the registry and worktree from. Default: the Vite root. */
  cwd?: string
}

/** A Vite plugin: `server.port` and `preview.port` are the worktree's port, with `strictPort`. */
declare function atlasPorts(options?: AtlasPortsViteOptions): {
  name: string
  config(config: { root?: string }): Promise<{ server: { port: number; strictPort: true }; preview: { port: number; strictPort: true } }>
}

export default atlasPorts
export { atlasPorts }
