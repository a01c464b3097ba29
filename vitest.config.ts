import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    // Worker threads do not share Vitest's module runner; with tsx's loader, which they inherit,
    // they can load src/workers/worker.ts and TypeScript worker modules straight from source.
    execArgv: ['--import', 'tsx'],
  },
})
