import atlasPorts from './vite.js'

export default atlasPorts
export { atlasPorts }
